"""What JSORC's router costs per call, in module mode and in remote mode, in one run.

1. Module mode: `word_count(text)` called directly vs `router.call("text_tools.word_count",
   text)` with the action placed in module mode (both end in the same function object).
   Reports µs per call of each and the router's overhead in µs per call.
2. Remote mode: a raw keep-alive POST (one `http.client.HTTPConnection` reused for every
   request, the same JSON body pre-encoded once, the JSON reply decoded) vs `router.call`
   with the action placed remote, both against the SAME action server. Reports µs per call
   of each and the ratio router/raw.

Each side runs timed batches of `--calls` calls (`--remote-calls` in remote mode, whose
calls are far slower); within a round the two sides run one batch each, back to back,
and the order flips every round, so machine noise hits both alike. Per-call figures are
medians over `--rounds` rounds; overheads and ratios are medians of the per-round pairs.
Both sides pay the same loop cost. The router's own amortised cost (a Redis version check
at most once a second) is included, as in real use.
Prints figures and ratios only: no pass/fail thresholds.

The script starts a private Redis and an action server on 127.0.0.1 and stops them at
the end. Run from the project root:

    .venv/bin/python benchmarks/router_overhead.py [--calls N] [--remote-calls M]
                                                   [--rounds R] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jsorc.placement import MODULE, READY, REMOTE, Placement  # noqa: E402
from jsorc.redis_server import RedisServer  # noqa: E402
from jsorc.router import Router  # noqa: E402
from jsorc.state import StateStore  # noqa: E402

ACTION = "text_tools"
MODULE_PATH = "jsorc_examples.text_tools"
FUNCTION = "text_tools.word_count"
ALLOWED_MODULES = ("jsorc_examples",)
TEXT = "The quick brown fox jumps over the lazy dog"
HOST = "127.0.0.1"
SPEC_PATH = "/jaseci_actions_spec/"
CALL_PATH = "/word_count/"
HEADERS = {"Content-Type": "application/json"}

# Defaults: calls per timed batch in each mode, and rounds; about 20 s on 2 cores.
DEFAULT_CALLS = 20_000
DEFAULT_REMOTE_CALLS = 500
DEFAULT_ROUNDS = 11
# Untimed calls per side before measuring (imports, connections, caches).
MODULE_WARMUP_CALLS = 200
REMOTE_WARMUP_CALLS = 10
# Seconds the action server has to write its port file.
SERVER_START_TIMEOUT_S = 20.0
# Seconds between checks for the port file.
SERVER_POLL_S = 0.05
# Seconds the action server has to exit after SIGTERM before it is killed.
SERVER_STOP_GRACE_S = 5.0
# Seconds a raw HTTP request may take.
HTTP_TIMEOUT_S = 10.0
US_PER_S = 1e6

Side = tuple[Callable[..., Any], tuple[Any, ...]]  # a function and the arguments of one call


# measuring


def per_call_us(side: Side, calls: int) -> float:
    """Mean µs per call over one batch of `calls` calls."""
    func, args = side
    start = time.perf_counter()
    for _ in range(calls):
        func(*args)
    return (time.perf_counter() - start) / calls * US_PER_S


def warm_up(side: Side, calls: int) -> None:
    func, args = side
    for _ in range(calls):
        func(*args)


def interleaved(base: Side, router: Side, *, calls: int, rounds: int) -> tuple[list, list]:
    """Per-round µs/call of each side; the two alternate, order flipping every round."""
    base_us: list[float] = []
    router_us: list[float] = []
    for round_no in range(rounds):
        if round_no % 2 == 0:
            base_us.append(per_call_us(base, calls))
            router_us.append(per_call_us(router, calls))
        else:
            router_us.append(per_call_us(router, calls))
            base_us.append(per_call_us(base, calls))
    return base_us, router_us


def spread(values: list[float]) -> tuple[float, float]:
    """The 25th and 75th percentiles (min and max when there are too few values)."""
    if len(values) < 4:
        return min(values), max(values)
    quartiles = statistics.quantiles(values, n=4, method="inclusive")
    return quartiles[0], quartiles[2]


def summarise(base_us: list[float], router_us: list[float]) -> dict[str, Any]:
    overheads = [r - b for b, r in zip(base_us, router_us, strict=True)]
    ratios = [r / b for b, r in zip(base_us, router_us, strict=True)]
    return {
        "base_us": statistics.median(base_us),
        "base_us_p25_p75": spread(base_us),
        "router_us": statistics.median(router_us),
        "router_us_p25_p75": spread(router_us),
        "overhead_us": statistics.median(overheads),
        "overhead_us_p25_p75": spread(overheads),
        "ratio": statistics.median(ratios),
        "ratio_p25_p75": spread(ratios),
        "samples": {"base_us": base_us, "router_us": router_us},
    }


# the pieces under test


def start_action_server(workdir: Path) -> tuple[subprocess.Popen, str]:
    """Start `python -m jsorc.server` for the action; its process and URL."""
    port_file = workdir / "server.port"
    log = (workdir / "server.log").open("wb")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        "-m",
        "jsorc.server",
        "--name",
        ACTION,
        "--module",
        MODULE_PATH,
        "--host",
        HOST,
        "--port",
        "0",
        "--port-file",
        str(port_file),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            tail = (workdir / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"action server did not start:\n{tail}")
        time.sleep(SERVER_POLL_S)
    return process, f"http://{HOST}:{int(port_file.read_text())}"


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(SERVER_STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(SERVER_STOP_GRACE_S)


def fetch_spec(port: int) -> dict[str, list[str]]:
    conn = http.client.HTTPConnection(HOST, port, timeout=HTTP_TIMEOUT_S)
    try:
        conn.request("GET", SPEC_PATH)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"spec endpoint answered {response.status}: {body[:200]!r}")
        return json.loads(body)
    finally:
        conn.close()


def raw_poster(conn: http.client.HTTPConnection) -> Callable[[bytes], Any]:
    """A function POSTing a body on the one kept-alive connection; the decoded reply."""

    def post(body: bytes) -> Any:
        conn.request("POST", CALL_PATH, body=body, headers=HEADERS)
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"raw POST answered {response.status}: {data[:200]!r}")
        return json.loads(data)

    return post


# the two comparisons


def bench_module(state: StateStore, router: Router, *, calls: int, rounds: int) -> dict:
    from jsorc_examples.text_tools import word_count

    state.save_placement(Placement(name=ACTION, mode=MODULE, status=READY))
    router.sync(force=True)
    direct: Side = (word_count, (TEXT,))
    routed: Side = (router.call, (FUNCTION, TEXT))
    if router.call(FUNCTION, TEXT) != word_count(TEXT):
        raise RuntimeError("router and direct call disagree in module mode")
    warm_up(direct, MODULE_WARMUP_CALLS)
    warm_up(routed, MODULE_WARMUP_CALLS)
    return summarise(*interleaved(direct, routed, calls=calls, rounds=rounds))


def bench_remote(state: StateStore, router: Router, url: str, *, calls: int, rounds: int) -> dict:
    port = int(url.rsplit(":", 1)[1])
    state.save_placement(
        Placement(name=ACTION, mode=REMOTE, status=READY, url=url, spec=fetch_spec(port))
    )
    router.sync(force=True)
    placed = router.placement(ACTION)
    if placed is None or placed.mode != REMOTE:
        raise RuntimeError(f"router did not follow the remote placement: {placed}")
    conn = http.client.HTTPConnection(HOST, port, timeout=HTTP_TIMEOUT_S)
    try:
        raw: Side = (raw_poster(conn), (json.dumps({"text": TEXT}).encode(),))
        routed: Side = (router.call, (FUNCTION, TEXT))
        if raw[0](*raw[1]) != router.call(FUNCTION, TEXT):
            raise RuntimeError("router and raw POST disagree in remote mode")
        warm_up(raw, REMOTE_WARMUP_CALLS)
        warm_up(routed, REMOTE_WARMUP_CALLS)
        raw_socket = conn.sock
        result = summarise(*interleaved(raw, routed, calls=calls, rounds=rounds))
        result["raw_connection_reused"] = conn.sock is raw_socket
    finally:
        conn.close()
    result["router_connections_opened"] = sum(p.opened for p in router._pools.values())
    return result


# reporting


def print_report(results: dict) -> None:
    module, remote = results["module"], results["remote"]
    print(f"JSORC router overhead: {FUNCTION}({TEXT!r})")
    print(
        f"batches of {results['calls']} calls (module) / {results['remote_calls']} calls "
        f"(remote) x {results['rounds']} interleaved rounds per side; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs\n"
    )
    header = f"{'mode':<7} {'path':<31} {'µs/call median':>15} {'p25-p75':>21}"
    print(header)
    print("-" * len(header))
    rows = [
        ("module", "direct word_count(text)", module, "base"),
        ("module", "router.call (module mode)", module, "router"),
        ("remote", "raw keep-alive http.client POST", remote, "base"),
        ("remote", "router.call (remote mode)", remote, "router"),
    ]
    for mode, path, result, side in rows:
        low, high = result[f"{side}_us_p25_p75"]
        print(f"{mode:<7} {path:<31} {result[f'{side}_us']:>15.2f} {f'{low:.2f}-{high:.2f}':>21}")
    print()
    low, high = module["overhead_us_p25_p75"]
    print(
        f"module: router - direct = {module['overhead_us']:+.2f} µs/call "
        f"(p25-p75 {low:.2f}-{high:.2f}) on a direct call "
        f"of {module['base_us']:.2f} µs: router/direct = {module['ratio']:.2f}x"
    )
    low, high = remote["ratio_p25_p75"]
    print(
        f"remote: router/raw = {remote['ratio']:.2f}x (p25-p75 {low:.2f}-{high:.2f}); "
        f"router - raw = {remote['overhead_us']:+.1f} µs/call on a raw POST "
        f"of {remote['base_us']:.1f} µs "
        f"(raw connection reused: {remote['raw_connection_reused']}, "
        f"router connections opened: {remote['router_connections_opened']})"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls",
        type=int,
        default=DEFAULT_CALLS,
        help=f"calls per timed batch in module mode (default {DEFAULT_CALLS})",
    )
    parser.add_argument(
        "--remote-calls",
        type=int,
        default=DEFAULT_REMOTE_CALLS,
        help=f"calls per timed batch in remote mode (default {DEFAULT_REMOTE_CALLS})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"interleaved rounds per comparison (default {DEFAULT_ROUNDS})",
    )
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    opts = parser.parse_args(argv)
    if min(opts.calls, opts.remote_calls, opts.rounds) < 1:
        parser.error("--calls, --remote-calls and --rounds must be at least 1")
    return opts


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    """Unwind like Ctrl-C so the servers are stopped; ignore repeats (`timeout` sends
    SIGTERM to the process and again to its group) so they cannot cut the clean-up short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="jsorc-bench-") as tmp:
        workdir = Path(tmp)
        redis_server = RedisServer(directory=workdir / "redis").start()
        server: subprocess.Popen | None = None
        router: Router | None = None
        try:
            server, url = start_action_server(workdir)
            state = StateStore.from_url(redis_server.url)
            state.save_config(ACTION, {"module": MODULE_PATH, "loaded_module": MODULE_PATH})
            router = Router(state, allowed_modules=ALLOWED_MODULES)
            results = {
                "function": FUNCTION,
                "calls": opts.calls,
                "remote_calls": opts.remote_calls,
                "rounds": opts.rounds,
                "module": bench_module(state, router, calls=opts.calls, rounds=opts.rounds),
                "remote": bench_remote(
                    state, router, url, calls=opts.remote_calls, rounds=opts.rounds
                ),
            }
        finally:
            if router is not None:
                router.close()
            if server is not None:
                stop_process(server)
            redis_server.stop()
    print_report(results)
    if opts.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
