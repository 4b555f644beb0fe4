"""Beat on django-celery-beat's database schedule: config_set changes the tick rate of a
running Beat, and two Beats at once still give one regeneration per interval."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from jsorc.configuration import set_config
from jsorc.runtime import Runtime
from tests.conftest import wait_until


@contextmanager
def beats(rt: Runtime, count: int) -> Iterator[list[Path]]:
    env = {**os.environ, **rt.settings.to_env()}
    logs = [rt.settings.home / f"beat-{i}.log" for i in range(count)]
    rt.settings.home.mkdir(parents=True, exist_ok=True)
    processes = []
    for log in logs:
        with open(log, "wb") as out:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "jsorc.cli", "beat"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
            )
    try:
        yield logs
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(15)


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


@pytest.mark.timeout(150)
def test_config_set_changes_the_tick_rate_without_restarting_beat(rt: Runtime, worker: Any) -> None:
    with beats(rt, 1):
        wait_until(lambda: len(rt.state.tick_history()) >= 4, timeout=60, what="four ticks")
        changed_at = time.time()
        set_config(rt, "backoff_interval", "5")
        # Beat reads the setting within a second or two, then keeps the new period.
        wait_until(
            lambda: len([t for t in rt.state.tick_history() if t > changed_at + 6]) >= 3,
            timeout=60,
            what="three ticks at the new interval",
        )
    history = rt.state.tick_history()
    before = gaps([t for t in history if t < changed_at])
    after = gaps([t for t in history if t > changed_at + 6])
    # Intervals of 2 s before and 5 s after; the medians sit far from the 3.5 s divide.
    assert statistics.median(before) < 3.5, before
    assert statistics.median(after) > 4.0, after


@pytest.mark.timeout(150)
def test_two_beats_give_one_regeneration_per_interval(rt: Runtime, worker: Any) -> None:
    with beats(rt, 2) as logs:
        wait_until(lambda: len(rt.state.tick_history()) >= 6, timeout=90, what="six ticks")
    for log in logs:
        assert "Sending due task jsorc regeneration" in log.read_text()
    history = rt.state.tick_history()
    counts = rt.state.tick_counts()
    # Each Beat sends every interval; half the sends are duplicates and are skipped.
    assert counts["skipped"] >= 2, counts
    # No two ticks ran within half an interval (1 s) of each other.
    assert min(gaps(history)) >= 1.0, gaps(history)
