"""Helpers for driving the citizen pages' forms with the Flask test client (no JavaScript)."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def _fields(fragment: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in HIDDEN.findall(fragment)}


def time_choice(page: str, index: int = 0) -> tuple[str, dict[str, str]]:
    """Return the day picker's GET action and its fields with the ``index``-th time chosen."""
    match = re.search(r'<form method="get" action="([^"]+)" novalidate>(.*?)</form>', page, re.S)
    assert match, "no time to pick"
    slots = re.findall(r'name="slot" value="([^"]+)"', match.group(2))
    assert slots, "no free time on the chosen day"
    return html.unescape(match.group(1)), {**_fields(match.group(2)), "slot": html.unescape(slots[index])}


def confirm_form(page: str) -> tuple[str, dict[str, str]]:
    """Return the confirm page's POST action and fields."""
    match = re.search(r'<form method="post" action="([^"]+)" class="confirm-form">(.*?)</form>', page, re.S)
    assert match, "no confirm form"
    return html.unescape(match.group(1)), _fields(match.group(2))


def choose_and_confirm(client: FlaskClient, times_url: str, index: int = 0) -> tuple[str, dict[str, str]]:
    """Open the day picker, choose a time, open the confirm page; return its POST form."""
    picker = client.get(times_url)
    assert picker.status_code == 200, picker.get_data(as_text=True)
    action, fields = time_choice(picker.get_data(as_text=True), index)
    confirm = client.get(action, query_string=fields)
    assert confirm.status_code == 200, confirm.headers
    return confirm_form(confirm.get_data(as_text=True))
