"""Where an action runs: its placement record and the states it moves through.

mode NONE / MODULE / REMOTE. A remote placement goes STARTING -> READY, RETIRING when
its server is being stopped, FAILED when it could not start (regeneration retries it).
A module placement is READY at once: each process imports the module when first needed.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from typing import Any

MODULE = "module"
REMOTE = "remote"
MODES = (MODULE, REMOTE)

STARTING = "STARTING"
READY = "READY"
RETIRING = "RETIRING"
FAILED = "FAILED"


@dataclasses.dataclass(frozen=True)
class Placement:
    name: str
    mode: str
    status: str
    url: str = ""
    spec: Mapping[str, list[str]] = dataclasses.field(default_factory=dict)
    error: str = ""
    since: float = dataclasses.field(default_factory=time.time)
    updated: float = dataclasses.field(default_factory=time.time)

    def to_redis(self) -> dict[str, str]:
        return {
            "name": self.name,
            "mode": self.mode,
            "status": self.status,
            "url": self.url,
            "spec": json.dumps(dict(self.spec)),
            "error": self.error,
            "since": repr(self.since),
            "updated": repr(self.updated),
        }

    @classmethod
    def from_redis(cls, raw: Mapping[str, str]) -> Placement:
        return cls(
            name=raw["name"],
            mode=raw["mode"],
            status=raw["status"],
            url=raw.get("url", ""),
            spec=json.loads(raw.get("spec") or "{}"),
            error=raw.get("error", ""),
            since=float(raw.get("since") or 0),
            updated=float(raw.get("updated") or 0),
        )

    def evolve(self, **changes: Any) -> Placement:
        changes.setdefault("updated", time.time())
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "status": self.status,
            "url": self.url or None,
            "functions": sorted(self.spec),
            "error": self.error or None,
            "since": self.since,
            "updated": self.updated,
        }
