"""config_get and config_set: JSORC's live settings, read and changed while it runs.

A value is checked before anything is stored; a stored value is in SQL, where every
process reads it (workers each tick, Beat within seconds, this process at once).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from jsorc.errors import BadRequest, SettingsError
from jsorc.keepalive.watch import SETTING_PREFIX, check_config, public_config, service_config
from jsorc.runtime import Runtime
from jsorc.settings import LIVE_KEYS

logger = logging.getLogger(__name__)


def get_config(rt: Runtime, name: str | None = None) -> dict[str, Any]:
    """Every live setting, or the one named (`service.<name>`: a kept-alive service's)."""
    if name is not None and name.startswith(SETTING_PREFIX):
        return {name: public_config(service_config(rt, name.removeprefix(SETTING_PREFIX)))}
    values = rt.refresh_settings().live_values()
    if name is None:
        return values
    if name not in values:
        raise BadRequest(f"unknown setting {name!r}; settable ones are {list(LIVE_KEYS)}")
    return {name: values[name]}


def set_config(rt: Runtime, name: str, value: Any) -> dict[str, Any]:
    """Check and store one setting; returns every live setting as now in force.

    A string that holds JSON (as Jaseci's META-style calls send) is decoded first."""
    if isinstance(value, str):
        value = _maybe_json(value)
    if name.startswith(SETTING_PREFIX):
        return _set_service_config(rt, name.removeprefix(SETTING_PREFIX), value)
    try:
        updated = rt.refresh_settings().with_overrides({name: value})
    except SettingsError as exc:
        raise BadRequest(str(exc)) from exc
    rt.db.save_settings({name: updated.live_values()[name]})
    rt.settings = updated
    logger.info("Setting %s changed to %r.", name, updated.live_values()[name])
    return updated.live_values()


def _set_service_config(rt: Runtime, service: str, value: Any) -> dict[str, Any]:
    """Merge `value` into what is stored for the service; its next tick rebuilds it."""
    changes = check_config(service, value)
    key = SETTING_PREFIX + service
    merged = {**(rt.db.fetch_settings().get(key) or {}), **changes}
    rt.db.save_settings({key: merged})
    logger.info("Config of service %s changed: %r.", service, sorted(changes))
    return {key: public_config(service_config(rt, service))}


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value
