"""Call statistics: the histogram against numpy, merging across recorders, the router's
always-on recording with the placement in force, windows, and trackact end to end."""

from __future__ import annotations

import numpy as np
import pytest

from jsorc.admin import Dispatch
from jsorc.errors import BadRequest
from jsorc.measure import trackact
from jsorc.measure.callstats import (
    call_recorder,
    call_totals,
    read_call_stats,
    read_function_stats,
    reset_call_stats,
    snapshot_call_stats,
)
from jsorc.measure.histogram import PERCENTILES, RELATIVE_ERROR, Histogram, bucket_of
from jsorc.placement import MODULE, READY, Placement
from jsorc.router import Router
from jsorc.runtime import Runtime
from jsorc.state import StateStore

NS_PER_MS = 1_000_000
TEXT_TOOLS = {"module": "jsorc_examples.text_tools"}


def test_percentiles_match_numpy_within_the_stated_bound() -> None:
    # Log-normal latencies around 2 ms, spanning several decades.
    rng = np.random.default_rng(20240605)
    samples_ms = rng.lognormal(mean=np.log(2.0), sigma=1.2, size=20_000)
    hist = Histogram.of(int(ms * NS_PER_MS) for ms in samples_ms)
    assert RELATIVE_ERROR == pytest.approx(0.0247, abs=1e-4)  # sqrt(1.05) - 1
    for q in (*PERCENTILES, 1, 25, 75, 99.9):
        exact = float(np.percentile(samples_ms, q, method="inverted_cdf"))
        assert abs(hist.percentile_ms(q) - exact) <= RELATIVE_ERROR * exact + 1e-9, q
    exact_ns = np.array([int(ms * NS_PER_MS) for ms in samples_ms])
    assert hist.mean_ms() == pytest.approx(exact_ns.mean() / NS_PER_MS, rel=1e-12)
    assert hist.count == 20_000


def test_percentiles_of_a_hand_worked_sample() -> None:
    # 1, 2, ..., 100 ms: the nearest-rank p50 is 50 ms, p90 90 ms, p95 95 ms, p99 99 ms.
    hist = Histogram.of(ms * NS_PER_MS for ms in range(1, 101))
    summary = hist.summary()
    assert summary["count"] == 100 and summary["mean_ms"] == 50.5
    for q, exact in ((50, 50), (90, 90), (95, 95), (99, 99)):
        assert abs(summary[f"p{q}_ms"] - exact) <= RELATIVE_ERROR * exact
    assert Histogram().summary() == {
        "count": 0, "errors": 0, "mean_ms": None,
        "p50_ms": None, "p90_ms": None, "p95_ms": None, "p99_ms": None,
    }  # fmt: skip


def test_merged_histograms_equal_one_histogram_of_all_samples() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.integers(10_000, 10**9, size=500), rng.integers(10_000, 10**9, size=300)
    merged = Histogram.of(a).merge(Histogram.of(b))
    assert merged == Histogram.of(np.concatenate([a, b]))
    assert Histogram.of(np.concatenate([a, b])).minus(Histogram.of(a)) == Histogram.of(b)
    assert bucket_of(0) == 0 and bucket_of(10**18) == bucket_of(10**19)


def test_two_processes_flush_into_one_total(redis_url: str) -> None:
    state = StateStore.from_url(redis_url)
    first = call_recorder(state, background=False)
    second = call_recorder(state, background=False)
    for ms in (1, 2, 3):
        first.record(("vectors", "vectors.normalize", "module"), ms * NS_PER_MS)
    second.record(("vectors", "vectors.normalize", "module"), 10 * NS_PER_MS)
    second.record(("vectors", "vectors.nearest", "remote"), 4 * NS_PER_MS, True)
    assert first.flush() == 3 and second.flush() == 2
    stats = read_call_stats(state)
    assert stats["vectors"]["module"]["count"] == 4
    assert stats["vectors"]["module"]["mean_ms"] == 4.0  # (1 + 2 + 3 + 10) / 4
    assert stats["vectors"]["remote"]["errors"] == 1
    assert call_totals(state) == {"vectors": {"module": (4, 16.0), "remote": (1, 4.0)}}
    reset_call_stats(state)
    assert read_call_stats(state) == {}


def test_the_router_records_each_call_with_its_placement(redis_url: str) -> None:
    state = StateStore.from_url(redis_url)
    state.save_config("text_tools", TEXT_TOOLS)
    state.save_placement(Placement(name="text_tools", mode=MODULE, status=READY))
    with Router(state, allowed_modules=("jsorc_examples",), listen=False) as router:
        for _ in range(5):
            router.call("text_tools.word_count", "a b c")
        router.call("text_tools.slugify", "A B")
        with pytest.raises(TypeError):
            router.call("text_tools.word_count")  # missing argument: a failed call
        router.stats.flush()
    functions = read_function_stats(state)
    assert functions["text_tools.word_count"]["module"]["count"] == 6
    assert functions["text_tools.word_count"]["module"]["errors"] == 1
    assert functions["text_tools.slugify"]["module"]["count"] == 1
    assert read_call_stats(state)["text_tools"]["module"]["count"] == 7


def test_statistics_switched_off_record_nothing(redis_url: str) -> None:
    state = StateStore.from_url(redis_url)
    state.save_config("text_tools", TEXT_TOOLS)
    state.save_placement(Placement(name="text_tools", mode=MODULE, status=READY))
    with Router(
        state, allowed_modules=("jsorc_examples",), listen=False, record_stats=False
    ) as router:
        assert router.call("text_tools.word_count", "a b") == 2
        assert router.stats is None
    assert read_call_stats(state) == {}


def test_a_window_counts_only_what_came_after_its_snapshot(redis_url: str) -> None:
    state = StateStore.from_url(redis_url)
    recorder = call_recorder(state, background=False)
    recorder.record(("a", "a.f", "module"), 5 * NS_PER_MS)
    recorder.flush()
    since = snapshot_call_stats(state)
    recorder.record(("a", "a.f", "module"), 7 * NS_PER_MS)
    recorder.record(("b", "b.g", "remote"), 9 * NS_PER_MS)
    recorder.flush()
    window = read_call_stats(state, since=since)
    assert window["a"]["module"]["count"] == 1 and window["a"]["module"]["mean_ms"] == 7.0
    assert window["b"]["remote"]["count"] == 1


def test_trackact_reports_the_window_and_its_placement_changes(
    rt: Runtime, inline_dispatch: Dispatch
) -> None:
    from jsorc import admin

    admin.configure(rt, "text_tools", "jsorc_examples.config")
    admin.load(rt, "text_tools", "module", dispatch=inline_dispatch)
    with Router(rt.state, allowed_modules=rt.settings.allowed_modules, listen=False) as router:
        router.call("text_tools.word_count", "before the window")
        router.stats.flush()
        trackact.start(rt)
        for text in ("one", "one two", "one two three"):
            router.call("text_tools.word_count", text)
        admin.unload(rt, "text_tools", dispatch=inline_dispatch)
        router.stats.flush()
    report = trackact.stop(rt)

    text_tools = report["actions"]["text_tools"]
    assert text_tools["modes"]["module"]["count"] == 3
    assert text_tools["functions"]["text_tools.word_count"]["module"]["count"] == 3
    assert text_tools["placement"] == "none"
    assert [(c["mode"], c["status"]) for c in report["placement_changes"]] == [
        ("module", "UNLOADED")
    ]
    from jsorc.measure.reports import fetch_report

    assert fetch_report(rt.db, report["id"])["data"]["actions"]["text_tools"]["modes"] == {
        "module": text_tools["modes"]["module"]
    }
    with pytest.raises(BadRequest, match="not running"):
        trackact.stop(rt)
