"""``hub notifications-worker``: send the outbox (database-backed; run one or more)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("notifications-worker")
@click.option("--once", is_flag=True, help="Send what is due, then stop.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds.")
@with_appcontext
def notifications_worker(once: bool, interval: float) -> None:
    """Send queued e-mail and SMS, queue due reminders, retry failures with backoff."""
    from hub.notifications import senders_for
    from hub.notifications.worker import Worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker = Worker(app, senders_for(app))
    if once:
        click.echo(f"Sent {worker.run_once()} message(s).")
        return
    click.echo("Notification worker running; stop with Ctrl+C.")
    worker.run_forever(interval)
