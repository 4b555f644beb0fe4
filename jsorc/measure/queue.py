"""The work measurement hands to the task layer, as a pair of callables (no Celery here)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class MeasureQueue:
    # Run load test `id`: prepare placements, then its shards, then merge the report.
    run_loadtest: Callable[[int], None]
    # Take tracksys samples for session `id`, one per backoff_interval, while it runs.
    sample_system: Callable[[str], None]
