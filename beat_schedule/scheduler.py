"""Beat's scheduler: django-celery-beat's DatabaseScheduler that also follows JSORC's
backoff_interval setting in SQL.

Each time Beat asks whether the schedule changed (at least every beat_max_loop_interval
seconds), the setting is read (at most every SETTINGS_POLL seconds) and, if it differs
from the stored schedule, the schedule is rewritten; the DatabaseScheduler then reloads
it. So `config_set backoff_interval` reaches a running Beat without a restart.
Import only after `schedule.configure()`: django-celery-beat needs Django set up.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django_celery_beat.schedulers import DatabaseScheduler

from beat_schedule import schedule
from jsorc.db import Database
from jsorc.settings import LIVE_KEYS

logger = logging.getLogger(__name__)

# Seconds between reads of the backoff_interval setting.
SETTINGS_POLL = 1.0


class JsorcScheduler(DatabaseScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        settings = schedule.configured_settings()
        self._jsorc_db = Database(settings.database_url)
        self._jsorc_settings = settings
        self._settings_read = 0.0
        super().__init__(*args, **kwargs)

    def schedule_changed(self) -> bool:
        if time.monotonic() - self._settings_read >= SETTINGS_POLL:
            self._settings_read = time.monotonic()
            self._follow_interval()
        return bool(super().schedule_changed())

    def _follow_interval(self) -> None:
        stored = {k: v for k, v in self._jsorc_db.fetch_settings().items() if k in LIVE_KEYS}
        try:
            wanted = self._jsorc_settings.with_overrides(stored).backoff_interval
        except Exception:
            logger.warning("Ignoring a stored setting JSORC cannot use.", exc_info=True)
            return
        if schedule.current_period() != max(1, round(wanted)):
            schedule.sync(wanted)
