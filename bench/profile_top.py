"""Summarize a py-spy ``--format raw`` profile (collapsed stacks): the functions that cost most.

    .venv/bin/python bench/profile_top.py OUT/hub-profile.txt [--top 30] [--match hub/]

Inclusive share: samples with the function anywhere on the stack; own share: samples where it is
the innermost frame. Only stacks that pass through the Flask app count (request handling).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def short(frame: str) -> str:
    """``func (…/site-packages/pkg/mod.py:12)`` → ``pkg/mod.py:func``, line numbers dropped."""
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{match['func']}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", default="", help="only list functions whose name contains this")
    parser.add_argument(
        "--within",
        default="wsgi_app",
        help="count only stacks through this function (default: the Flask app's request handling;"
        " 'first_free_times' or 'fan_out' for the federated search's threads, '' for all)",
    )
    args = parser.parse_args()

    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit() or args.within not in stack:
            continue
        count = int(count_text)
        frames = [short(f) for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
    print(f"{total} samples through {args.within!r}")
    for title, counter in (("inclusive", inclusive), ("own", own)):
        print(f"\n-- top {args.top} by {title} share --")
        shown = [(n, c) for n, c in counter.most_common() if args.match in n][: args.top]
        for name, count in shown:
            print(f"{100 * count / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
