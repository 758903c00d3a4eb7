"""Clinic administration: the admin pages under /admin, for clinic and region administrators.

Call ``init_app(app)`` from the app factory before e-ID is set up: the development staff login
(``DEV_STAFF_LOGIN``) may need to configure a staff-only identity service first.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hub.admin import devstaff, views

    devstaff.configure_identity(app)
    views.register(app)
    if devstaff.enabled(app):
        app.register_blueprint(devstaff.blueprint)
