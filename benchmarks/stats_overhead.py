"""What the router's always-on call statistics cost per call, side by side in one run.

Two routers over the same Redis and the same module placement of `text_tools`: one with
statistics on (the default), one built with `record_stats=False`. Both call
`text_tools.word_count(text)` in timed batches of `--calls` calls; within a round the two
run one batch each, back to back, and the order flips every round. Figures are medians
over `--rounds` rounds; the overhead is the median of the per-round differences (µs per
call). The statistics' background flush (about once a second) runs during the batches,
as in real use. Prints figures only: no pass/fail thresholds.

    .venv/bin/python benchmarks/stats_overhead.py [--calls N] [--rounds R] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jsorc.measure.callstats import read_function_stats  # noqa: E402
from jsorc.placement import MODULE, READY, Placement  # noqa: E402
from jsorc.redis_server import RedisServer  # noqa: E402
from jsorc.router import Router  # noqa: E402
from jsorc.state import StateStore  # noqa: E402

FUNCTION = "text_tools.word_count"
TEXT = "The quick brown fox jumps over the lazy dog"
# Defaults: calls per timed batch and rounds; about 10 s on 2 cores.
DEFAULT_CALLS = 50_000
DEFAULT_ROUNDS = 11
WARMUP_CALLS = 1_000
US_PER_S = 1e6


def per_call_us(router: Router, calls: int) -> float:
    call = router.call
    start = time.perf_counter()
    for _ in range(calls):
        call(FUNCTION, TEXT)
    return (time.perf_counter() - start) / calls * US_PER_S


def spread(values: list[float]) -> tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    quartiles = statistics.quantiles(values, n=4, method="inclusive")
    return quartiles[0], quartiles[2]


def measure(state: StateStore, *, calls: int, rounds: int) -> dict:
    allowed = ("jsorc_examples",)
    with (
        Router(state, allowed_modules=allowed, listen=False) as on,
        Router(state, allowed_modules=allowed, listen=False, record_stats=False) as off,
    ):
        for router in (on, off):
            for _ in range(WARMUP_CALLS):
                router.call(FUNCTION, TEXT)
        on_us: list[float] = []
        off_us: list[float] = []
        for round_no in range(rounds):
            pair = [(on, on_us), (off, off_us)]
            for router, sink in pair if round_no % 2 == 0 else reversed(pair):
                sink.append(per_call_us(router, calls))
    recorded = read_function_stats(state)[FUNCTION][MODULE]["count"]
    overheads = [a - b for a, b in zip(on_us, off_us, strict=True)]
    return {
        "stats_on_us": statistics.median(on_us),
        "stats_on_us_p25_p75": spread(on_us),
        "stats_off_us": statistics.median(off_us),
        "stats_off_us_p25_p75": spread(off_us),
        "overhead_us": statistics.median(overheads),
        "overhead_us_p25_p75": spread(overheads),
        "calls_recorded": recorded,
        "calls_made_with_stats_on": WARMUP_CALLS + calls * rounds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=DEFAULT_CALLS)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    opts = parser.parse_args(argv)
    if min(opts.calls, opts.rounds) < 1:
        parser.error("--calls and --rounds must be at least 1")
    with tempfile.TemporaryDirectory(prefix="jsorc-bench-") as tmp:
        redis_server = RedisServer(directory=Path(tmp) / "redis").start()
        try:
            state = StateStore.from_url(redis_server.url)
            state.save_config("text_tools", {"module": "jsorc_examples.text_tools"})
            state.save_placement(Placement(name="text_tools", mode=MODULE, status=READY))
            results = measure(state, calls=opts.calls, rounds=opts.rounds)
            state.client.close()
        finally:
            redis_server.stop()
    print(f"JSORC call statistics overhead: router.call({FUNCTION!r}, text), module mode")
    print(f"batches of {opts.calls} calls x {opts.rounds} interleaved rounds; "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs\n")  # fmt: skip
    for label, key in (("statistics on ", "stats_on_us"), ("statistics off", "stats_off_us")):
        low, high = results[f"{key}_p25_p75"]
        print(f"{label}  {results[key]:8.3f} µs/call  (p25-p75 {low:.3f}-{high:.3f})")
    low, high = results["overhead_us_p25_p75"]
    print(f"overhead        {results['overhead_us']:+8.3f} µs/call  (p25-p75 {low:.3f}-{high:.3f})")
    print(f"calls recorded in Redis: {results['calls_recorded']} of "
          f"{results['calls_made_with_stats_on']} made with statistics on")  # fmt: skip
    if opts.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
