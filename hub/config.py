"""Configuration: defaults, then the instance/environment, then the caller's mapping."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV_PREFIX = "HUB_"


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the app refuses to start."""


def defaults(instance_path: str) -> dict[str, Any]:
    return {
        "HUB_ENV": "development",  # "production" forbids development shortcuts
        "SECRET_KEY": None,
        "DATABASE_URL": "sqlite:///" + str(Path(instance_path) / "hub.sqlite3"),
        # Connections each worker process keeps open (PostgreSQL); at least its threads.
        "DATABASE_POOL_SIZE": 20,
        "DEV_LOGIN": False,
        # The labelled staff test login (admin pages); configures a staff-only e-ID when none is.
        "DEV_STAFF_LOGIN": False,
        "BABEL_DEFAULT_LOCALE": "sv",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Stockholm",
        "LANGUAGES": ("sv", "en", "de"),
        "REGION_NAME": "Region Stockholm",
        "SLOT_SEARCH_DAYS": 14,
        # Record systems: a citizen never waits longer than this for one clinic.
        "RECORD_SYSTEM_DEADLINE_SECONDS": 5.0,
        "BREAKER_FAILURE_THRESHOLD": 3,
        "BREAKER_RESET_SECONDS": 30.0,
        # Federated search answers within this, marking slower clinics instead of waiting.
        "FEDERATED_DEADLINE_SECONDS": 2.5,
        "FEDERATED_SEARCH_DAYS": 3,
        "FREE_SLOT_CACHE_SECONDS": 20.0,
        # A search reading a clinic's cached times in their last third of life reloads them in
        # the background, so a region searched all the time rarely waits for a fan-out (0: off).
        "FREE_SLOT_REFRESH_AHEAD": 1 / 3,
        "SYNC_RETRY_BASE_SECONDS": 30.0,
        # Notifications: e-mail is off until SMTP_HOST is set (messages wait, never reported sent).
        "PORTAL_URL": "http://127.0.0.1:5000/",
        "SMTP_HOST": None,
        "SMTP_PORT": 25,
        "SMTP_STARTTLS": False,
        "SMTP_USERNAME": None,
        "SMTP_PASSWORD": None,
        "SMTP_TIMEOUT": 30,
        "SMTP_CA_FILE": None,
        "MAIL_FROM": "no-reply@localhost",
        "SMS_PROVIDER": "file",  # file | http | none
        "SMS_HTTP_URL": None,
        "SMS_HTTP_TOKEN": None,
        "SMS_HTTP_TIMEOUT": 10,
        "SMS_SENDER": "Region",
        "SMS_OUTBOX_FILE": None,  # default <instance>/sms-outbox.jsonl
        "SMS_DEFAULT_REGION": "SE",
        "REMINDER_HOURS_BEFORE": 24,
        "NOTIFY_MAX_ATTEMPTS": 6,
        "NOTIFY_RETRY_BASE_SECONDS": 60,
        "NOTIFY_RETRY_MAX_SECONDS": 3600,
        "NOTIFY_SENDING_LEASE_SECONDS": 300,
        "SLOT_SEARCH_MAX_DAYS": 62,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
    }


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read ``HUB_*`` variables (``HUB_DATABASE_URL`` → ``DATABASE_URL``)."""
    environ = dict(os.environ if environ is None else environ)
    found: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name if name == "HUB_ENV" else name[len(ENV_PREFIX) :]
        if value.lower() in {"1", "true", "yes", "on"}:
            found[key] = True
        elif value.lower() in {"0", "false", "no", "off"}:
            found[key] = False
        else:
            found[key] = value
    return found


def read_identity_file(config: dict[str, Any]) -> None:
    """Read e-ID settings from ``IDENTITY_FILE`` (JSON, the mapping of
    :func:`identity.settings.settings_from_mapping`) when no ``IDENTITY`` mapping is given.

    A file, not environment variables: it holds the identity secret and the IdPs' metadata, and
    the operator keeps it readable by the service alone.
    """
    path = config.get("IDENTITY_FILE")
    if not path or config.get("IDENTITY"):
        return
    try:
        config["IDENTITY"] = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read the identity settings in {path}: {error}") from error


def check(config: dict[str, Any]) -> None:
    """Refuse settings that must never reach production."""
    if config["HUB_ENV"] == "production":
        if config.get("DEV_LOGIN"):
            raise ConfigError("the development login cannot be enabled with production settings")
        if config.get("DEV_STAFF_LOGIN"):
            raise ConfigError("the staff test login cannot be enabled with production settings")
        if not config.get("SECRET_KEY") or config["SECRET_KEY"] == "dev":  # noqa: S105 - refuses the demo key
            raise ConfigError("production needs a real HUB_SECRET_KEY")
        if config.get("SMS_PROVIDER") == "file":
            raise ConfigError("production cannot send SMS to a local file: set HUB_SMS_PROVIDER")
        config["SESSION_COOKIE_SECURE"] = True
    if not config.get("SECRET_KEY"):
        raise ConfigError("set HUB_SECRET_KEY (or SECRET_KEY in the test mapping)")
