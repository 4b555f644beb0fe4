"""In-process buffering of latency samples, flushed to a sink in batches.

`record` is the hot path: one deque append (thread-safe, no lock). A daemon thread
drains the deque every FLUSH_INTERVAL_S into histograms and hands them to the sink (a
LatencyStore's `add`); a sink that fails keeps its batch for the next flush.
Hazard: samples of the last interval reach Redis only at the next flush or `close()`.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable

from jsorc.errors import JsorcError
from jsorc.measure.histogram import Histogram
from jsorc.measure.store import Labels, Series

logger = logging.getLogger(__name__)

# Seconds between flushes by the background thread.
FLUSH_INTERVAL_S = 1.0
# Samples buffered before the recording thread flushes itself (bounds memory).
MAX_PENDING = 50_000

Sink = Callable[[Series], None]


class Recorder:
    def __init__(
        self, sink: Sink, *, interval: float = FLUSH_INTERVAL_S, background: bool = True
    ) -> None:
        self.sink = sink
        self.interval = interval
        self._pending: collections.deque[tuple[Labels, int, bool]] = collections.deque()
        self._unsent: Series = {}
        self._flush_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="jsorc-stats", daemon=True)
            self._thread.start()

    def record(self, labels: Labels, ns: int, error: bool = False) -> None:
        pending = self._pending
        pending.append((labels, ns, error))
        if len(pending) > MAX_PENDING:
            self.flush()

    def flush(self) -> int:
        """Send what is buffered; the number of samples sent (0 when the sink failed)."""
        with self._flush_lock:
            drained = self._drain()
            batch, self._unsent = self._unsent, {}
            for labels, hist in drained.items():
                batch.setdefault(labels, Histogram()).merge(hist)
            if not batch:
                return 0
            try:
                self.sink(batch)
            except JsorcError as exc:
                self._unsent = batch
                logger.warning("Could not flush call statistics; keeping them: %s", exc)
                return 0
            return sum(hist.count for hist in batch.values())

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def _drain(self) -> Series:
        pending, out = self._pending, {}
        for _ in range(len(pending)):
            labels, ns, error = pending.popleft()
            hist = out.get(labels)
            if hist is None:
                hist = out[labels] = Histogram()
            hist.add(ns, error=error)
        return out

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.flush()
            except Exception:
                logger.exception("Statistics flush failed; going on.")
