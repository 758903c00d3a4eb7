"""The regional booking hub: the Flask application that composes the other packages."""

from __future__ import annotations

import gc
import os
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from hub import config as hub_config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``HUB_*`` environment, then the caller's mapping."""
    app = Flask(
        __name__, instance_path=os.environ.get("HUB_INSTANCE_PATH") or None, instance_relative_config=True
    )
    app.config.update(hub_config.defaults(app.instance_path))
    app.config.update(hub_config.from_environment())
    if config:
        app.config.update(config)
    hub_config.check(app.config)
    hub_config.read_identity_file(app.config)
    os.makedirs(app.instance_path, exist_ok=True)

    from hub import db, errors, i18n
    from hub.booking import cache

    db.init_app(app)
    cache.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    csrf = CSRFProtect(app)

    from hub import admin, api, cli, eid, portal, terms_flow

    admin.init_app(app)  # before e-ID: the staff test login may configure a staff-only identity
    eid.init_app(app)  # after CSRFProtect, so the SAML ACS is exempted
    terms_flow.init_app(app)
    app.register_blueprint(portal.blueprint)
    app.register_blueprint(api.blueprint)
    csrf.exempt(api.blueprint)  # the API accepts JSON only; see hub.api
    if app.config.get("DEV_LOGIN"):
        from hub import devlogin

        app.register_blueprint(devlogin.blueprint)
    cli.init_app(app)

    from hub import notifications

    notifications.init_app(app)
    # Everything built so far (modules, mappers, translations) lives as long as the process; left
    # in the collected generations, every full collection walked it again, pausing every request
    # thread of the worker for about 57 ms (22 ms frozen; bench/README.md). Garbage is collected
    # first, so that none of it is frozen for good.
    gc.collect()
    gc.freeze()
    return app
