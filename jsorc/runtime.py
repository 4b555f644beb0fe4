"""The collaborators one JSORC process works with, built once at its entry point:
settings (environment, then the database's live values), the Redis state store, the
SQL database and the cluster backend. The backend is built when first needed (a
kubeconfig is read only by processes that use it) and again when the namespace changes.
"""

from __future__ import annotations

import logging

from jsorc.backends import ClusterBackend, make_backend
from jsorc.db import Database
from jsorc.settings import LIVE_KEYS, Settings
from jsorc.state import StateStore

logger = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self,
        *,
        settings: Settings,
        state: StateStore,
        db: Database,
        backend: ClusterBackend | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.db = db
        self._backend = backend
        self._backend_fixed = backend is not None
        self._backend_namespace = settings.namespace

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        db = Database(settings.database_url)
        stored = {k: v for k, v in db.fetch_settings().items() if k in LIVE_KEYS}
        if stored:
            settings = settings.with_overrides(stored)
        return cls(settings=settings, state=StateStore.from_url(settings.redis_url), db=db)

    def with_backend(self, backend: ClusterBackend) -> Runtime:
        """The same collaborators around a given backend (an embedding program, a test)."""
        return Runtime(settings=self.settings, state=self.state, db=self.db, backend=backend)

    @property
    def backend(self) -> ClusterBackend:
        if self._backend_fixed:
            assert self._backend is not None
            return self._backend
        if self._backend is None or self._backend_namespace != self.settings.namespace:
            self._backend = make_backend(self.settings, self.state)
            self._backend_namespace = self.settings.namespace
        return self._backend

    def refresh_settings(self) -> Settings:
        """Re-read the live settings from the database (config_set may have changed them)."""
        stored = {k: v for k, v in self.db.fetch_settings().items() if k in LIVE_KEYS}
        self.settings = self.settings.with_overrides(stored)
        return self.settings

    def close(self) -> None:
        self.state.client.close()
        self.db.dispose()

    def __repr__(self) -> str:
        return f"<Runtime backend={self.settings.backend!r} home={str(self.settings.home)!r}>"
