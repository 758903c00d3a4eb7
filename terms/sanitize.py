"""Clinic-written text is data, never markup: tags go, the rest is kept as plain text.

Points are stored as plain text and always rendered escaped. Stripping tags on the way in as
well (with nh3, the Rust ammonia sanitizer) means no stored row ever holds a script, even for a
consumer of the JSON API that forgets to escape.
"""

from __future__ import annotations

import html

import nh3


def clean_point(text: str) -> str:
    """Return ``text`` without tags, scripts or control characters, whitespace collapsed."""
    # nh3 drops every tag (and the content of script/style) and returns HTML; unescape it back
    # to the plain text the author meant ("a & b" stays "a & b").
    stripped = html.unescape(nh3.clean(text, tags=set()))
    printable = "".join(ch for ch in stripped if ch.isprintable() or ch == " ")
    return " ".join(printable.split())
