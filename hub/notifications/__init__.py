"""Notifications: confirmations, reminders and bulk messages by e-mail and SMS.

Call ``init_app(app)`` from the app factory (after CSRFProtect): it connects to
``booking_changed``, registers the profile page and JSON endpoint, and adds the
``hub notifications-worker`` and ``hub notifications-release`` commands.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from hub.notifications.channels import Sender
from hub.notifications.models import Channel


def senders_for(app: Flask) -> Mapping[Channel, Sender | None]:
    """Build the configured channels (e-mail only when ``SMTP_HOST`` is set)."""
    from hub.notifications.channels.sms import sms_sender
    from hub.notifications.channels.smtp import SmtpSender, SmtpSettings

    email = SmtpSender(SmtpSettings.from_config(app.config)) if app.config.get("SMTP_HOST") else None
    return {Channel.EMAIL: email, Channel.SMS: sms_sender(app.config, app.instance_path)}


def init_app(app: Flask) -> None:
    if "hub.notifications" in app.extensions:
        return
    app.extensions["hub.notifications"] = True
    from hub.booking.events import booking_changed
    from hub.notifications import cli, views
    from hub.notifications.outbox import on_booking_changed

    # Weak references would drop a handler defined in a module that is reloaded; keep it strong.
    booking_changed.connect(on_booking_changed, sender=app, weak=False)
    app.register_blueprint(views.pages)
    app.register_blueprint(views.api)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(views.api)  # JSON only, like hub.api: other sites cannot post JSON cross-site
    app.cli.add_command(cli.notifications_worker)
    app.cli.add_command(cli.notifications_release)


__all__ = ["init_app", "senders_for"]
