"""Checks the browser suite runs on every page: axe-core, page width, visible focus."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}

# WCAG 2.1 A and AA rules only; best-practice rules are advice, not the bar.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SAFE_NAME = re.compile(r"[^a-z0-9-]+")


def axe_violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """Run axe-core on the page; return its serious and critical violations."""
    # Injected as an evaluated script: the portal's CSP (script-src 'self') blocks add_script_tag.
    page.evaluate(f"() => {{ {axe_source}\n; window.__axe = axe; }}")
    result = page.evaluate(
        "async (tags) => { const r = await window.__axe.run(document, "
        "{ runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }); "
        "return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, "
        "nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) })); }",
        AXE_TAGS,
    )
    return [v for v in result if v["impact"] in {"serious", "critical"}]


def assert_accessible(page: Any, axe_source: str) -> None:
    violations = axe_violations(page, axe_source)
    assert violations == [], f"{page.url}: {violations}"


def assert_no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{page.url} is {width}px wide in a {viewport}px viewport"


def screenshot(page: Any, directory: Path, name: str) -> None:
    """Save a full-page screenshot under a neutral name (never personal data in file names)."""
    safe = SAFE_NAME.sub("-", name.lower()).strip("-")
    page.screenshot(path=str(directory / f"{safe}.png"), full_page=True)


def focus_is_visible(page: Any) -> bool:
    """Whether the focused element draws a ring (outline or box-shadow), not only a style change."""
    return page.evaluate(
        "() => { const e = document.activeElement; if (!e || e === document.body) return false;"
        " const s = getComputedStyle(e); const outline = s.outlineStyle !== 'none' &&"
        " parseFloat(s.outlineWidth) >= 2; const shadow = s.boxShadow && s.boxShadow !== 'none';"
        " return outline || shadow; }"
    )


def focused_text(page: Any) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement; if (!e) return '';"
        " const label = e.labels && e.labels[0] ? e.labels[0].innerText : '';"
        " return (e.innerText || e.value || label || e.getAttribute('aria-label') || '').trim(); }"
    )


def tab_to(page: Any, pattern: str, *, limit: int = 60, check_focus: bool = True) -> None:
    """Press Tab until the focused element's text matches ``pattern``; check each stop is visible."""
    wanted = re.compile(pattern)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if check_focus:
            assert focus_is_visible(page), f"no visible focus on {focused_text(page)!r} at {page.url}"
        if wanted.search(focused_text(page)):
            return
    raise AssertionError(f"no focusable element matching {pattern!r} on {page.url}")
