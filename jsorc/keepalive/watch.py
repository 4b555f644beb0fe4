"""Watching kept-alive services: each regeneration tick, every service named in
keep_alive is checked, and one that is not running is brought back.

Bringing back means: apply its manifest (start or restart its process on the local
backend), then start the service again. A service that still fails stays FAILED with
its error and is tried again next tick. Health goes to Redis each tick; each change of
state goes to SQL. A service's config is its defaults overlaid with what config_set
stored as `service.<name>`; a changed config rebuilds the service.
Hazard: services live in the process that ticks (a worker); others read Redis.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Any

from jsorc.backends.processes import DetachedProcesses
from jsorc.errors import BadRequest, JsorcError
from jsorc.keepalive import local_manifests
from jsorc.keepalive.catalog import CATALOG, build_registry, default_config
from jsorc.runtime import Runtime
from jsorc.services import Registry, ServiceState

logger = logging.getLogger(__name__)

SETTING_PREFIX = "service."
# Seconds between start attempts while a service comes up.
START_POLL = 0.1
# Config keys holding any of these are secrets: never shown, never logged.
SECRET_WORDS = ("password", "secret", "token")
# Keys every service's config may hold besides its own.
COMMON_KEYS = {"enabled", "automated", "quiet", "manifest", "ready_wait"}


@dataclasses.dataclass
class ServiceHealth:
    name: str
    state: str
    error: str = ""
    # What the tick did: checked (no manifest), kept / started / restarted (its process)
    # or reconciled (its objects on the cluster),
    # failed (its manifest could not be applied), left (not ours to restart).
    outcome: str = ""
    checked: float = dataclasses.field(default_factory=time.time)


class KeptAlive:
    """The kept-alive services of this process."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.processes = DetachedProcesses(
            state=rt.state, kind="service", run_dir=rt.settings.home / "services"
        )
        self._configs = self.configs()
        self.registry: Registry = build_registry(
            {name: _no_wait(config) for name, config in self._configs.items()}
        )

    def configs(self) -> dict[str, dict[str, Any]]:
        stored = self.rt.db.fetch_settings()
        return {name: service_config(self.rt, name, stored=stored) for name in CATALOG}

    def tick(self, names: tuple[str, ...], *, automate: bool = True) -> list[ServiceHealth]:
        """Check each service; bring back those not running, unless `automate` is off."""
        self._follow_configs()
        return [self._watch(name, automate=automate) for name in names]

    def refresh(self, name: str) -> ServiceHealth:
        """Rebuild `name` from its current config and bring it up now."""
        check_name(name)
        self._configs = self.configs()
        self._rebuild(name)
        return self._watch(name)

    def shutdown(self) -> None:
        self.registry.shutdown()

    def _follow_configs(self) -> None:
        current = self.configs()
        for name, config in current.items():
            if config != self._configs.get(name):
                logger.info("Config of service %r changed; rebuilding it.", name)
                self._configs[name] = config
                self._rebuild(name)

    def _rebuild(self, name: str) -> None:
        """Replace the built service with one of the current config, built when next used.

        A newer registration of the same priority wins and drops the built service;
        building is left to the next lookup, after the manifest has been applied."""
        config = _no_wait(self._configs[name])
        self.registry.register_service(name, CATALOG[name], config=config)

    def _watch(self, name: str, *, automate: bool = True) -> ServiceHealth:
        if name not in CATALOG:
            return self._report(ServiceHealth(name, "UNKNOWN", f"no service named {name!r}"))
        config = self._configs[name]
        allowed = automate and config.get("automated", True) and config.get("enabled", True)
        service = self.registry.service(name)  # built with no wait: a quick probe
        if service.check():
            return self._report(ServiceHealth(name, ServiceState.RUNNING, outcome="checked"))
        self._record_loss(name, service.last_error or str(service.state))
        if not allowed:
            why = (
                "disabled" if not service.enabled
                else "not automated" if not service.automated
                else "automation is off"
            )  # fmt: skip
            return self._report(ServiceHealth(name, str(service.state), why, outcome="left"))
        outcome, error = self._apply_manifest(name)
        if outcome == "kept" and self._settled(name, config):
            # Its process runs but the service does not answer (hung): replace the process.
            logger.warning("Service %r does not answer; restarting its process.", name)
            self.processes.stop(name)
            outcome, error = self._apply_manifest(name)
            outcome = "restarted" if outcome == "started" else outcome
        if outcome != "failed":
            error = self._start_within(name, float(config.get("ready_wait", 0)))
        state = str(self.registry.service(name).state)
        return self._report(ServiceHealth(name, state, error, outcome=outcome))

    def _start_within(self, name: str, seconds: float) -> str:
        """Start the service again until it runs or `seconds` pass; its last error, if any."""
        deadline = time.monotonic() + seconds
        while True:
            self.registry.start(name)
            service = self.registry.service(name)
            if service.is_running() or time.monotonic() >= deadline:
                return service.last_error or ""
            time.sleep(START_POLL)

    def _apply_manifest(self, name: str) -> tuple[str, str]:
        """What applying the service's manifest did, and the error if it failed."""
        config = self._configs[name]
        if not config.get("manifest"):
            return "checked", ""
        if self.rt.settings.backend == "kubernetes":
            return self._apply_on_cluster(name)
        try:
            manifest = local_manifests.load(name)
            if manifest is None:
                return "checked", ""
            # The process gets JSORC's own settings: a task worker must find this Redis.
            env = {**os.environ, **self.rt.settings.to_env()}
            return local_manifests.apply(self.processes, name, manifest, config, env=env), ""
        except JsorcError as exc:
            logger.warning("Could not apply the manifest of %r: %s", name, exc)
            return "failed", f"manifest: {exc}"

    def _settled(self, name: str, config: dict[str, Any]) -> bool:
        """Whether the service's process has had its ready_wait to come up."""
        record = self.processes.record(name) or {}
        started = float(record.get("started", 0) or 0)
        return time.time() - started > float(config.get("ready_wait", 0))

    def _apply_on_cluster(self, name: str) -> tuple[str, str]:
        try:
            report = self.rt.backend.apply_service(name)  # type: ignore[attr-defined]
        except JsorcError as exc:
            logger.warning("Could not reconcile the manifest of %r: %s", name, exc)
            return "failed", f"manifest: {exc}"
        if report is None:
            return "checked", ""
        return ("kept" if not (report.created or report.patched) else "reconciled"), ""

    def _record_loss(self, name: str, error: str) -> None:
        """A service that was running and is not any more: its failure goes to SQL."""
        previous = self.rt.state.fetch_service_health(name) or {}
        if previous.get("state") == ServiceState.RUNNING:
            self.rt.db.record_service(name, ServiceState.FAILED, error)
            self.rt.state.save_service_health(name, {"state": ServiceState.FAILED, "error": error})

    def _report(self, health: ServiceHealth) -> ServiceHealth:
        previous = self.rt.state.fetch_service_health(health.name) or {}
        restarts = int(previous.get("restarts", 0))
        if health.outcome in ("started", "restarted") and previous:
            restarts += 1
        record = {**dataclasses.asdict(health), "state": str(health.state), "restarts": restarts}
        self.rt.state.save_service_health(health.name, record)
        if previous.get("state") != record["state"] or previous.get("error") != health.error:
            self.rt.db.record_service(health.name, record["state"], health.error or health.outcome)
        if record["state"] != ServiceState.RUNNING:
            logger.warning("Service %r is %s: %s", health.name, record["state"], health.error)
        return health


def _no_wait(config: dict[str, Any]) -> dict[str, Any]:
    """The config a service is built with: it probes once; the watcher does the waiting."""
    return {**config, "ready_wait": 0}


def service_config(
    rt: Runtime, name: str, *, stored: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Service `name`'s config: its defaults, overlaid with what config_set stored."""
    check_name(name)
    config = default_config(
        name, database_url=rt.settings.database_url, redis_url=rt.settings.redis_url
    )
    config["manifest"] = name != "database"
    stored = rt.db.fetch_settings() if stored is None else stored
    config.update(stored.get(SETTING_PREFIX + name) or {})
    return config


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config as shown to users: secrets masked."""
    return {
        key: "***" if value and any(word in key for word in SECRET_WORDS) else value
        for key, value in config.items()
    }


def check_name(name: str) -> None:
    if name not in CATALOG:
        raise BadRequest(f"no kept-alive service {name!r}; known: {', '.join(sorted(CATALOG))}")


def check_config(name: str, value: Any) -> dict[str, Any]:
    """A config override for service `name`, checked for shape (not for reachability)."""
    check_name(name)
    if not isinstance(value, dict):
        raise BadRequest(f"config of service {name!r} must be a JSON object")
    known = set(CATALOG[name].DEFAULTS) | COMMON_KEYS  # type: ignore[attr-defined]
    unknown = set(value) - known
    if unknown:
        raise BadRequest(
            f"config of service {name!r} has unknown key(s) {sorted(unknown)}; "
            f"known: {sorted(known)}"
        )
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            raise BadRequest(f"config key {key!r} of {name!r} must be a plain value")
    return value
