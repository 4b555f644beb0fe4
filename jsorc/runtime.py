"""The collaborators one JSORC process works with, built once at its entry point:
settings (environment, then the database's live values), the Redis state store, the
SQL database and the cluster backend.
"""

from __future__ import annotations

import dataclasses
import logging

from jsorc.backends import ClusterBackend, make_backend
from jsorc.db import Database
from jsorc.settings import LIVE_KEYS, Settings
from jsorc.state import StateStore

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Runtime:
    settings: Settings
    state: StateStore
    db: Database
    backend: ClusterBackend

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        db = Database(settings.database_url)
        stored = {k: v for k, v in db.fetch_settings().items() if k in LIVE_KEYS}
        if stored:
            settings = settings.with_overrides(stored)
        state = StateStore.from_url(settings.redis_url)
        return cls(settings=settings, state=state, db=db, backend=make_backend(settings, state))

    def refresh_settings(self) -> Settings:
        """Re-read the live settings from the database (config_set may have changed them)."""
        stored = {k: v for k, v in self.db.fetch_settings().items() if k in LIVE_KEYS}
        self.settings = self.settings.with_overrides(stored)
        return self.settings

    def close(self) -> None:
        self.state.client.close()
        self.db.dispose()
