"""Django wiring for django-celery-beat, without a Django project.

`configure` points Django at the schedule database (a SQLite file beside JSORC's own,
or JSORC's PostgreSQL database), `migrate` creates its tables, and `sync` writes the
regeneration task at the current backoff_interval; Beat's DatabaseScheduler notices
the change on its next loop.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from sqlalchemy.engine import make_url

from jsorc import keys
from jsorc.locks import single_flight
from jsorc.settings import Settings

logger = logging.getLogger(__name__)

REGENERATION_TASK = "jsorc.regenerate"
REGENERATION_ENTRY = "jsorc regeneration"
POLICY_TASK = "jsorc.policy_tick"
POLICY_ENTRY = "jsorc placement policy"
# Seconds between policy ticks; policy phases are measured in these.
POLICY_TICK_S = 2
SCHEDULER = "beat_schedule.scheduler:JsorcScheduler"
# Seconds one Beat may hold the set-up lock (migrations included).
SETUP_TTL = 120.0

_configured: Settings | None = None


def django_database(settings: Settings) -> dict[str, Any]:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(settings.home / "beat.sqlite3"),
            # Beats write this file together: take the write lock when a transaction
            # begins (a later upgrade fails at once with "database is locked"), and let
            # readers go on while one writes.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL",
            },
        }
    if url.get_backend_name() == "postgresql":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.database,
            "USER": url.username or "",
            "PASSWORD": url.password or "",
            "HOST": url.host or "",
            "PORT": str(url.port or ""),
        }
    raise ValueError(f"Beat's schedule cannot live in {url.get_backend_name()!r}")


def configure(settings: Settings) -> None:
    import django
    from django.conf import settings as django_settings

    global _configured
    _configured = settings
    if not django_settings.configured:
        settings.home.mkdir(parents=True, exist_ok=True)
        django_settings.configure(
            INSTALLED_APPS=["django_celery_beat"],
            DATABASES={"default": django_database(settings)},
            USE_TZ=True,
            TIME_ZONE="UTC",
            DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        )
        django.setup()


def configured_settings() -> Settings:
    if _configured is None:
        raise RuntimeError("call beat_schedule.schedule.configure(settings) first")
    return _configured


def prepare(settings: Settings, client: redis.Redis) -> None:
    """Configure Django, migrate and write the schedule, one Beat at a time: replicas
    starting together would otherwise race on the same migrations."""
    configure(settings)
    with single_flight(client, keys.BEAT_SETUP_LOCK, ttl=SETUP_TTL, wait=SETUP_TTL) as lock:
        if lock is None:
            raise RuntimeError(f"another Beat held the set-up lock for over {SETUP_TTL:g}s")
        migrate()
        sync(settings.backoff_interval)


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", "django_celery_beat", verbosity=0, interactive=False)


def sync(backoff_interval: float) -> int:
    """Schedule regeneration every `backoff_interval` seconds; returns the period used."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = max(1, round(backoff_interval))
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=every, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=REGENERATION_ENTRY,
        defaults={"task": REGENERATION_TASK, "interval": interval, "enabled": True},
    )
    policy_interval, _ = IntervalSchedule.objects.get_or_create(
        every=POLICY_TICK_S, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=POLICY_ENTRY,
        defaults={"task": POLICY_TASK, "interval": policy_interval, "enabled": True},
    )
    logger.info("Regeneration scheduled every %d s, the policy every %d s.", every, POLICY_TICK_S)
    return every


def current_period() -> int | None:
    from django_celery_beat.models import PeriodicTask

    entry = PeriodicTask.objects.filter(name=REGENERATION_ENTRY).first()
    return None if entry is None or entry.interval is None else entry.interval.every
