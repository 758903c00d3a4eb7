"""Command line: ``hub demo``, ``hub db-upgrade``, ``hub db-check``, ``hub seed-demo``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext


def _create_app() -> Flask:
    from hub import create_app

    return create_app()


@click.command("db-upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Bring the database schema up to date."""
    from hub.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"])
    click.echo("Database is up to date.")


@click.command("db-check")
@with_appcontext
def db_check() -> None:
    """Fail if the models and the migrations have drifted apart."""
    from hub.migrate import check

    check(current_app.config["DATABASE_URL"])
    click.echo("Models and migrations agree.")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo region (once)."""
    from hub.db import database
    from hub.demo import seed

    with database().session_scope() as db:
        created = seed(db)
    click.echo("Demo region created." if created else "Demo data already present.")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def demo(host: str, port: int) -> None:
    """Migrate, seed the demo region and serve the hub."""
    import threading

    from waitress import serve

    from hub import demo_record_systems
    from hub.admin.demo_seed import seed_demo_terms
    from hub.booking.sync import sync_due
    from hub.db import database
    from hub.demo import CLINICS, seed
    from hub.migrate import upgrade

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    upgrade(app.config["DATABASE_URL"])
    systems = demo_record_systems.start()
    with database().session_scope() as db:
        if seed(db):
            # One clinic asks citizens to accept its terms before booking, to show that step.
            seed_demo_terms(db, CLINICS[0][0])
        demo_record_systems.connect(db, systems)
    click.echo(f"Demo record systems: RIV-TA SOAP at {systems.soap.url}, FHIR at {systems.fhir.base_url}")

    def keep_syncing() -> None:
        stop = threading.Event()
        while not stop.wait(15):
            try:
                sync_due(app)
            except Exception:  # a hiccup must not end the demo's worker
                app.logger.exception("sync round failed")

    from hub.notifications import senders_for
    from hub.notifications.worker import Worker

    threading.Thread(target=keep_syncing, name="demo-sync-worker", daemon=True).start()
    notifier = Worker(app, senders_for(app))
    threading.Thread(target=notifier.run_forever, args=(10.0,), name="demo-notifier", daemon=True).start()
    click.echo(f"Text messages of the demo go to {app.config.get('SMS_OUTBOX_FILE') or app.instance_path}")
    click.echo(
        f"The hub is running at http://{host}:{port}/ (test login: http://{host}:{port}/dev-login, "
        f"staff test login: http://{host}:{port}/admin/dev-login)"
    )
    try:
        serve(app, host=host, port=port, threads=16)
    finally:
        systems.stop()


@click.command("sync-worker")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between rounds.")
@click.option("--once", is_flag=True, help="Handle what is due now, then stop.")
@with_appcontext
def sync_worker(interval: float, once: bool) -> None:
    """Write fallback bookings into record systems that answer again."""
    import time

    from hub.booking.sync import sync_due

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    while True:
        report = sync_due(app)
        if report.handled_job_ids:
            click.echo(
                f"synced {report.synced}, conflicts {report.conflicts}, "
                f"postponed {report.postponed}, not booked {report.failed}"
            )
        if once:
            return
        time.sleep(interval)


def init_app(app: Flask) -> None:
    for command in (db_upgrade, db_check, seed_demo, demo, sync_worker):
        app.cli.add_command(command)


main = FlaskGroup(create_app=_create_app, add_default_commands=True)
