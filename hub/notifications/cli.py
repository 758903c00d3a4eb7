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


@click.command("notifications-release")
@click.argument("message_id")
@with_appcontext
def notifications_release(message_id: str) -> None:
    """Send an in-doubt e-mail once more, after the mail relay's log showed it never left."""
    from hub.db import database
    from hub.notifications.worker import release_in_doubt

    with database().session_scope() as db:
        released = release_in_doubt(db, message_id)
    if not released:
        raise click.ClickException("No message in doubt has that id.")
    click.echo("Released; the worker sends it on its next round.")
