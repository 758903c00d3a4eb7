"""Helpers for the admin tests: CSRF tokens and test staff personal numbers."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

# Luhn-valid numbers in the style of Skatteverket's test persons (not the citizen test persons).
ADMIN_A = "197002152390"
ADMIN_A2 = "198807172393"
ADMIN_B = "199011232395"
REGION = "196203142382"


def token(client: FlaskClient, path: str = "/admin/") -> str:
    """Return the CSRF token an admin page hands out."""
    response = client.get(path, follow_redirects=True)
    match = CSRF_FIELD.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path}: {response.status_code}"
    return match.group(1)


def post(client: FlaskClient, path: str, data: dict | None = None, **kwargs):
    """Post a form with the page's CSRF token."""
    return client.post(path, data={**(data or {}), "csrf_token": token(client)}, **kwargs)


def fresh(db) -> None:
    """Forget what the test's session holds, so the next read sees what the app committed."""
    db.rollback()
    db.expire_all()
