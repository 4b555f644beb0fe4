"""How fast regeneration heals a killed kept-alive service, and what one tick costs.

1. Healing: a Redis kept alive by JSORC on the local backend (service "redis", a free
   port set with config_set). A regeneration loop in this process does what the
   `jsorc.regenerate` task does each time Beat fires it: `rt.refresh_settings()`, then
   `run_tick(rt, respawn=..., kept_alive=...)`, on a fixed-rate schedule every
   `--interval` seconds (no Beat or worker process: their dispatch latency is not in the
   figures). The main thread SIGKILLs the service's process `--kills` times, each at a
   random phase of the interval (one in each of `--kills` equal slices of it, in random
   order), and times kill -> healthy: an independent PING on the service's port answers
   AND the health record in Redis says RUNNING with a restart counted after the kill.
   Reports median and p95, in seconds and in intervals, split into "wait for the next
   tick" and "tick start-up".
2. Tick cost: N actions registered (config and placement in Redis and SQL; placement
   remote, READY, with the spec of ONE real action server; a process record pointing at
   that server's process), so each tick does a real pid check and a real HTTP spec probe
   per action. Timed: `rt.refresh_settings()` + `run_tick` (the task's body), back to back
   (the half-interval duplicate guard is cleared before each tick). Reports median and
   p95 per size (ms) and µs per action. Services are measured apart, with every catalogued
   service that runs here (redis, mail, database, prometheus when on PATH) watched and
   healthy; "task" needs a Celery worker answering a ping and is left out.

Prints figures only: no pass/fail thresholds. Starts a private Redis (the state store), the
action server and the kept-alive services on 127.0.0.1 and stops them all at the end
(also on Ctrl-C and SIGTERM). About a minute with the defaults on 2 CPUs. Run from the
project root:

    .venv/bin/python benchmarks/kept_alive.py [--interval S] [--kills K] [--sizes 10,100,1000]
                                             [--ticks T] [--seed N] [--json] [--log]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import logging
import math
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jsorc import keys  # noqa: E402
from jsorc.actions.configs import ActionConfig  # noqa: E402
from jsorc.backends import fetch_spec  # noqa: E402
from jsorc.configuration import set_config  # noqa: E402
from jsorc.keepalive.watch import KeptAlive  # noqa: E402
from jsorc.placement import READY, REMOTE, Placement  # noqa: E402
from jsorc.redis_server import RedisServer, free_port  # noqa: E402
from jsorc.regeneration import PROBE_THREADS, run_tick  # noqa: E402
from jsorc.runtime import Runtime  # noqa: E402
from jsorc.settings import Settings  # noqa: E402

HOST = "127.0.0.1"
SERVICE = "redis"
ACTION_MODULE = "jsorc_examples.text_tools"
ALLOWED_MODULES = ("jsorc_examples",)

# Defaults: seconds between ticks (JSORC's floor), kills, action counts, timed ticks per size.
DEFAULT_INTERVAL = 2.0
DEFAULT_KILLS = 10
DEFAULT_SIZES = (10, 100, 1000)
DEFAULT_TICKS = 15
# Untimed ticks per size first (connections, caches).
WARMUP_TICKS = 2
# Seconds between checks while waiting for a healed service.
HEAL_POLL_S = 0.005
# Seconds an independent PING may take.
PING_TIMEOUT_S = 0.25
# Seconds, at least, between choosing a kill time and the kill.
KILL_LEAD_S = 0.05
# Seconds a healthy service may take to settle before a kill (first start included).
SETTLE_TIMEOUT_S = 60.0
# Seconds a kept-alive service may take to come up in the tick-cost part (Prometheus is slow).
SERVICES_UP_TIMEOUT_S = 60.0
# Seconds the regeneration loop has to finish its tick when stopped.
LOOP_STOP_TIMEOUT_S = 30.0
# Seconds the action server has to write its port file, and to exit after SIGTERM.
SERVER_START_TIMEOUT_S = 20.0
SERVER_STOP_GRACE_S = 5.0
SERVER_POLL_S = 0.05
# Linux's TCP counters (listen-queue overflows).
NETSTAT = Path("/proc/net/netstat")
MS_PER_S = 1e3
US_PER_S = 1e6


# figures


def percentile(values: list[float], pct: int) -> float:
    """The pct-th percentile, interpolated between samples (the only value for one sample)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def median_p95(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "p95": percentile(values, 95)}


# part 1: time to healthy after a kill


class RegenerationLoop:
    """Ticks at origin + k * interval in a thread, as Beat fires the regeneration task;
    a tick that overruns is followed by the next boundary after it (Beat's fires in
    between would find the single-flight lock held and be skipped)."""

    def __init__(self, rt: Runtime, kept: KeptAlive, *, interval: float) -> None:
        self.rt, self.kept, self.interval = rt, kept, interval
        self.starts: list[float] = []  # time.monotonic() of every tick that started
        self.errors: list[str] = []
        self.origin = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="regeneration-loop", daemon=True)

    def __enter__(self) -> RegenerationLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(LOOP_STOP_TIMEOUT_S)

    def _run(self) -> None:
        boundary = 0
        while not self._stop.wait(max(0.0, self._due(boundary) - time.monotonic())):
            self.starts.append(time.monotonic())
            try:
                self.rt.refresh_settings()
                run_tick(self.rt, respawn=lambda name: None, kept_alive=self.kept)
            except Exception as exc:  # reported with the figures; the loop goes on
                self.errors.append(f"{type(exc).__name__}: {exc}")
            elapsed = (time.monotonic() - self.origin) / self.interval
            boundary = max(boundary + 1, math.ceil(elapsed))

    def _due(self, boundary: int) -> float:
        return self.origin + boundary * self.interval

    def next_kill_time(self, phase: float) -> float:
        """The first moment `phase` seconds into an interval that is still ahead."""
        now = time.monotonic() + KILL_LEAD_S
        boundary = math.floor((now - self.origin) / self.interval)
        target = self.origin + boundary * self.interval + phase
        return target if target >= now else target + self.interval

    def last_tick_before(self, moment: float) -> float | None:
        return next((s for s in reversed(list(self.starts)) if s <= moment), None)


def redis_answers(port: int) -> bool:
    """A PING of our own on a fresh connection, independent of JSORC's clients."""
    try:
        with socket.create_connection((HOST, port), timeout=PING_TIMEOUT_S) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def health_of(rt: Runtime) -> tuple[str, int]:
    """The service's state and restart count as its health record in Redis says."""
    health = rt.state.fetch_service_health(SERVICE) or {}
    return health.get("state", ""), int(health.get("restarts") or 0)


def wait_settled(rt: Runtime, kept: KeptAlive, port: int) -> tuple[int, int]:
    """Wait for RUNNING, a PING answer and a recorded process; its pid and restart count."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        state, restarts = health_of(rt)
        process = kept.processes.process(SERVICE)
        if state == "RUNNING" and process is not None and redis_answers(port):
            return process.pid, restarts
        time.sleep(HEAL_POLL_S * 10)
    raise RuntimeError(f"kept-alive {SERVICE} not healthy within {SETTLE_TIMEOUT_S:g}s")


def wait_healed(rt: Runtime, port: int, *, restarts_before: int, timeout: float) -> float | None:
    """time.monotonic() when the service is healthy again after the kill, None on timeout.

    Healthy: RUNNING in a health record written after a restart (the count went up),
    and our own PING answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state, restarts = health_of(rt)
        if state == "RUNNING" and restarts > restarts_before and redis_answers(port):
            return time.monotonic()
        time.sleep(HEAL_POLL_S)
    return None


def one_kill(
    rt: Runtime, kept: KeptAlive, loop: RegenerationLoop, port: int, phase: float
) -> dict[str, Any]:
    pid, restarts_before = wait_settled(rt, kept, port)
    target = loop.next_kill_time(phase)
    time.sleep(max(0.0, target - time.monotonic()))
    recorded = kept.processes.process(SERVICE)
    if recorded is None or recorded.pid != pid:
        raise RuntimeError(f"{SERVICE}'s process changed before the kill (pid {pid})")
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    timeout = 3 * loop.interval + float(kept.configs()[SERVICE]["ready_wait"]) + 20.0
    healed = wait_healed(rt, port, restarts_before=restarts_before, timeout=timeout)
    last = loop.last_tick_before(killed)
    new = kept.processes.process(SERVICE)
    sample = {
        "phase_s": None if last is None else killed - last,
        "healed_s": None,
        "wait_for_tick_s": None,
        "startup_s": None,
        "new_pid": new is not None and new.pid != pid,
    }
    if healed is not None:
        # The healing tick is the last one to start before healthy; a kill landing inside
        # a running tick that then heals it waits for no tick at all.
        healing = max(killed, loop.last_tick_before(healed) or killed)
        sample.update(
            healed_s=healed - killed, wait_for_tick_s=healing - killed, startup_s=healed - healing
        )
    return sample


def kill_phases(*, interval: float, kills: int, seed: int) -> list[float]:
    """One uniformly random phase in each of `kills` equal slices of the interval, shuffled:
    random, yet spread over the whole interval, so ten kills give a steady median."""
    rng = random.Random(seed)
    phases = [(slot + rng.random()) * interval / kills for slot in range(kills)]
    rng.shuffle(phases)
    return phases


def bench_healing(rt: Runtime, *, interval: float, kills: int, seed: int) -> dict[str, Any]:
    port = free_port()
    set_config(rt, f"service.{SERVICE}", {"port": port})
    set_config(rt, "keep_alive", [SERVICE])
    rt.refresh_settings()
    kept = KeptAlive(rt)
    phases = kill_phases(interval=interval, kills=kills, seed=seed)
    try:
        with RegenerationLoop(rt, kept, interval=interval) as loop:
            samples = [one_kill(rt, kept, loop, port, phase) for phase in phases]
            ticks = len(loop.starts)
        errors = loop.errors
    finally:
        stop_services(kept)
    return summarise_healing(samples, interval=interval, ticks=ticks, errors=errors)


def summarise_healing(
    samples: list[dict[str, Any]], *, interval: float, ticks: int, errors: list[str]
) -> dict[str, Any]:
    healed = [s["healed_s"] for s in samples if s["healed_s"] is not None]
    startups = [s["startup_s"] for s in samples if s["startup_s"] is not None]
    waits = [s["wait_for_tick_s"] for s in samples if s["wait_for_tick_s"] is not None]
    result: dict[str, Any] = {
        "interval_s": interval,
        "kills": len(samples),
        "timeouts": len(samples) - len(healed),
        "ticks": ticks,
        "tick_errors": errors,
        "samples": samples,
    }
    if healed:
        result["healed_s"] = median_p95(healed)
        result["healed_intervals"] = {k: v / interval for k, v in result["healed_s"].items()}
    if startups and waits:
        result["startup_s"] = median_p95(startups)
        result["wait_for_tick_s"] = median_p95(waits)
    return result


def stop_services(kept: KeptAlive) -> None:
    kept.shutdown()
    for name in kept.processes.names():
        kept.processes.stop(name)


# part 2: the cost of one tick


def start_action_server(workdir: Path) -> tuple[subprocess.Popen, str]:
    """Start `python -m jsorc.server` for text_tools; its process and URL."""
    port_file, log_path = workdir / "server.port", workdir / "server.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [
        sys.executable, "-m", "jsorc.server", "--name", "text_tools", "--module", ACTION_MODULE,
        "--host", HOST, "--port", "0", "--port-file", str(port_file),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"action server did not start:\n{log_path.read_text()[-2000:]}")
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


@dataclasses.dataclass
class ActionServer:
    """The one real server every registered action points at."""

    url: str
    spec: dict[str, list[str]]
    record: dict[str, Any]


def describe_server(process: subprocess.Popen, url: str, log: Path) -> ActionServer:
    create_time = psutil.Process(process.pid).create_time()
    record = {"pid": process.pid, "create_time": create_time, "url": url, "log": str(log),
              "started": time.time()}  # fmt: skip
    return ActionServer(url=url, spec=fetch_spec(url), record=record)


def register_actions(rt: Runtime, server: ActionServer, names: list[str]) -> None:
    """Each name as `admin.configure` + a READY remote load would leave it."""
    processes = rt.backend.processes  # type: ignore[attr-defined]
    processes.run_dir.mkdir(parents=True, exist_ok=True)  # save() expects it; start() makes it
    for name in names:
        config = ActionConfig(name=name, module=ACTION_MODULE, loaded_module=ACTION_MODULE)
        rt.db.save_config(name, config.to_dict())
        rt.state.save_config(name, config.to_dict())
        rt.db.save_placement(name, REMOTE)
        rt.state.save_placement(
            Placement(name=name, mode=REMOTE, status=READY, url=server.url, spec=server.spec)
        )
        processes.save(name, server.record)


def timed_ticks(rt: Runtime, *, ticks: int, kept: KeptAlive | None = None) -> dict[str, Any]:
    """Seconds of each of `ticks` ticks after WARMUP_TICKS untimed ones, and what they saw."""
    seconds: list[float] = []
    respawned: list[str] = []
    checked = set()
    overflows = 0
    for number in range(WARMUP_TICKS + ticks):
        before = listen_overflows()
        rt.state.client.delete(keys.REGENERATION_SLOT)  # back to back, not one per interval
        started = time.perf_counter()
        rt.refresh_settings()
        report = run_tick(rt, respawn=respawned.append, kept_alive=kept)
        elapsed = time.perf_counter() - started
        if report.skipped:
            raise RuntimeError("a timed tick was skipped")
        checked.add(report.checked)
        if number >= WARMUP_TICKS:
            seconds.append(elapsed)
            after = listen_overflows()
            overflows += 0 if before is None or after is None else after - before
        mark_ready_again(rt, report.respawned)
    return {
        "seconds": seconds,
        "respawn_verdicts": len(respawned),
        "checked": sorted(checked),
        "listen_overflows": overflows if listen_overflows() is not None else None,
    }


def listen_overflows() -> int | None:
    """The kernel's count of connections dropped on a full listen queue (Linux, machine-wide);
    each costs the client a SYN retransmit, 1 s later. None where it cannot be read."""
    try:
        lines = NETSTAT.read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            counters = dict(zip(names.split(), values.split(), strict=False))
            return int(counters.get("ListenOverflows", 0))
    return None


def mark_ready_again(rt: Runtime, names: list[str]) -> None:
    """Undo a respawn verdict (a probe that timed out under load), so sizes stay comparable."""
    for name in names:
        placement = rt.state.fetch_placement(name)
        if placement is not None:
            rt.state.save_placement(placement.evolve(status=READY))


def bench_actions(
    rt: Runtime, server: ActionServer, *, sizes: list[int], ticks: int
) -> list[dict[str, Any]]:
    rows = []
    registered: list[str] = []
    for size in sizes:
        names = [f"bench_{index:05d}" for index in range(len(registered), size)]
        started = time.perf_counter()
        register_actions(rt, server, names)
        registered += names
        result = timed_ticks(rt, ticks=ticks)
        if result["checked"] != [size]:
            raise RuntimeError(f"ticks checked {result['checked']} actions, not {size}")
        figures = median_p95(result["seconds"])
        rows.append({
            "actions": size,
            "register_s": time.perf_counter() - started,
            "tick_ms": {k: v * MS_PER_S for k, v in figures.items()},
            "us_per_action": figures["median"] / size * US_PER_S,
            **result,
        })  # fmt: skip
    return rows


def catalog_here() -> tuple[str, ...]:
    """The kept-alive services that can run on this machine without a Celery worker."""
    names = ("redis", "mail", "database")
    return names + ("prometheus",) if shutil.which("prometheus") else names


def start_catalog(rt: Runtime, names: tuple[str, ...]) -> KeptAlive:
    for name in names:
        if name != "database":
            set_config(rt, f"service.{name}", {"port": free_port()})
    set_config(rt, "keep_alive", list(names))
    rt.refresh_settings()
    kept = KeptAlive(rt)
    deadline = time.monotonic() + SERVICES_UP_TIMEOUT_S
    while time.monotonic() < deadline:
        healths = kept.tick(names)
        if all(health.state == "RUNNING" for health in healths):
            return kept
        time.sleep(SERVER_POLL_S * 10)
    failing = {h.name: h.error for h in healths if h.state != "RUNNING"}
    stop_services(kept)
    raise RuntimeError(f"kept-alive services not RUNNING: {failing}")


def per_service_ms(kept: KeptAlive, names: tuple[str, ...], *, ticks: int) -> dict[str, float]:
    """Median ms of `kept.tick((name,))`: one service's check, with the per-tick config read."""
    result = {}
    for name in names:
        seconds = []
        for _ in range(ticks):
            started = time.perf_counter()
            [health] = kept.tick((name,))
            seconds.append(time.perf_counter() - started)
            if health.state != "RUNNING":
                raise RuntimeError(f"kept-alive {name} is {health.state}: {health.error}")
        result[name] = statistics.median(seconds) * MS_PER_S
    return result


def bench_services(rt: Runtime, *, ticks: int) -> dict[str, Any]:
    """Ticks with no action, first watching nothing, then the whole catalog that runs here."""
    bare = median_p95(timed_ticks(rt, ticks=ticks)["seconds"])
    names = catalog_here()
    kept = start_catalog(rt, names)
    try:
        watched = timed_ticks(rt, ticks=ticks, kept=kept)
        each = per_service_ms(kept, names, ticks=ticks)
    finally:
        stop_services(kept)
        set_config(rt, "keep_alive", [])
        rt.refresh_settings()
    figures = median_p95(watched["seconds"])
    return {
        "services": list(names),
        "bare_tick_ms": {k: v * MS_PER_S for k, v in bare.items()},
        "tick_ms": {k: v * MS_PER_S for k, v in figures.items()},
        "us_per_service": (figures["median"] - bare["median"]) / len(names) * US_PER_S,
        "per_service_ms": each,
    }


def bench_tick_cost(rt: Runtime, workdir: Path, *, sizes: list[int], ticks: int) -> dict:
    process, url = start_action_server(workdir)
    try:
        server = describe_server(process, url, workdir / "server.log")
        services = bench_services(rt, ticks=ticks)
        actions = bench_actions(rt, server, sizes=sizes, ticks=ticks)
    finally:
        stop_process(process)
    return {"ticks": ticks, "warmup_ticks": WARMUP_TICKS, "services": services, "actions": actions}


# reporting


def fmt(figure: dict[str, float] | None, unit: str = "s", scale: float = 1.0) -> str:
    if not figure:
        return "n/a"
    return f"median {figure['median'] * scale:.3f} {unit}, p95 {figure['p95'] * scale:.3f} {unit}"


def print_healing(heal: dict[str, Any]) -> None:
    interval = heal["interval_s"]
    print(f"1. Time to healthy after SIGKILL of the kept-alive {SERVICE} (local backend)")
    print(
        f"   driver: a fixed-rate regeneration loop in this process (not Beat + a worker):\n"
        f"   rt.refresh_settings() + run_tick() every {interval:g} s, the body of the "
        f"jsorc.regenerate task;\n   Beat/worker dispatch latency is not included. "
        f"{heal['ticks']} ticks ran."
    )
    print("   healthy = our own PING on the service's port answers AND its health record in")
    print("   Redis says RUNNING after a counted restart\n")
    header = f"   {'kill':>4} {'phase s':>8} {'wait tick s':>12} {'start-up s':>11} {'healed s':>9}"
    print(header)
    for number, sample in enumerate(heal["samples"], 1):
        cells = [sample[k] for k in ("phase_s", "wait_for_tick_s", "startup_s", "healed_s")]
        text = [f"{c:.3f}" if c is not None else "n/a" for c in cells]
        new = "" if sample["new_pid"] else "  (same pid!)"
        print(f"   {number:>4} {text[0]:>8} {text[1]:>12} {text[2]:>11} {text[3]:>9}{new}")
    print()
    if "healed_s" in heal:
        ratio = heal["healed_intervals"]
        print(f"   kill -> healthy: {fmt(heal['healed_s'])}")
        print(
            f"                    = median {ratio['median']:.2f} x, p95 {ratio['p95']:.2f} x "
            f"backoff_interval ({interval:g} s)"
        )
    if "startup_s" in heal:
        print(f"   of which wait for the next tick: {fmt(heal['wait_for_tick_s'])}")
        print(f"   of which tick start-up (tick start -> healthy): {fmt(heal['startup_s'])}")
        expected = interval / 2 + heal["startup_s"]["median"]
        print(
            f"   expected: a kill at a random phase waits for the next tick, on average half\n"
            f"   an interval ({interval / 2:.2f} s) and at most one ({interval:g} s), then pays "
            f"the start-up;\n   so about {expected:.2f} s on average and up to "
            f"{interval + heal['startup_s']['p95']:.2f} s here."
        )
    if heal["timeouts"]:
        print(f"   {heal['timeouts']} kill(s) not healed within the timeout")
    for error in heal["tick_errors"]:
        print(f"   tick error: {error}")


def print_tick_cost(cost: dict[str, Any]) -> None:
    services = cost["services"]
    print("\n2. Cost of one regeneration tick (refresh_settings() + run_tick(), back to back)")
    print(f"   {cost['ticks']} timed ticks per row after {cost['warmup_ticks']} untimed\n")
    print(f"   no action, nothing watched:   {fmt(services['bare_tick_ms'], 'ms')}")
    print(f"   no action, services watched:  {fmt(services['tick_ms'], 'ms')}")
    print(f"     (watched, all RUNNING: {', '.join(services['services'])})")
    print(f"   -> {services['us_per_service']:.0f} µs per watched service over the bare tick")
    each = ", ".join(f"{k} {v:.2f}" for k, v in services["per_service_ms"].items())
    print(f"   one service alone (kept.tick, median ms): {each}\n")
    header = (
        f"   {'actions':>7} {'tick ms median':>15} {'p95':>9} {'µs/action':>10} "
        f"{'respawn verdicts':>17} {'listen overflows*':>18}"
    )
    print(header)
    for row in cost["actions"]:
        ms, overflows = row["tick_ms"], row["listen_overflows"]
        print(
            f"   {row['actions']:>7} {ms['median']:>15.1f} {ms['p95']:>9.1f} "
            f"{row['us_per_action']:>10.0f} {row['respawn_verdicts']:>17} "
            f"{'n/a' if overflows is None else overflows:>18}"
        )
    rows = cost["actions"]
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        slope = (last["tick_ms"]["median"] - first["tick_ms"]["median"]) / MS_PER_S * US_PER_S
        slope /= last["actions"] - first["actions"]
        print(
            f"   marginal cost {first['actions']} -> {last['actions']} actions: "
            f"{slope:.0f} µs per added action"
        )
    print("   each action: a pid + start-time check (Redis record, psutil) and an HTTP GET of")
    print(f"   its spec, {PROBE_THREADS} at a time, against one real action server; plus")
    print("   restore() from SQL. All placements share that one server here.")
    print("   * machine-wide TcpExt ListenOverflows during the timed ticks: each one a connect")
    print("     that waits 1 s for a SYN retransmit; other programs on the machine count too.")


class WarningTally(logging.Handler):
    """Counts WARNING and above by logger and first line, for a summary at the end."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage().splitlines()[0][:120]
        self.counts[(record.name, line)] += 1


def print_warnings(tally: WarningTally) -> None:
    if not tally.counts:
        return
    print("\nwarnings the product logged during the run (count, logger: first line):")
    for (name, line), count in tally.counts.most_common(10):
        print(f"   {count:>5}  {name}: {line}")


# running


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        help=f"backoff_interval in seconds (default {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--kills",
        type=int,
        default=DEFAULT_KILLS,
        help=f"SIGKILLs of the kept-alive service (default {DEFAULT_KILLS})",
    )
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="registered action counts, comma-separated (default 10,100,1000)",
    )
    parser.add_argument(
        "--ticks",
        type=int,
        default=DEFAULT_TICKS,
        help=f"timed ticks per size (default {DEFAULT_TICKS})",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the kill phases")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--log", action="store_true", help="stream the product's warnings")
    opts = parser.parse_args(argv)  # fmt: skip
    try:
        opts.sizes = sorted({int(part) for part in opts.sizes.split(",") if part.strip()})
    except ValueError:
        parser.error("--sizes must be comma-separated whole numbers, e.g. 10,100,1000")
    if not opts.sizes or min(opts.sizes) < 1 or min(opts.kills, opts.ticks) < 1:
        parser.error("--sizes, --kills and --ticks must be at least 1")
    if opts.interval < 2.0:
        parser.error("--interval must be at least 2 s, JSORC's floor for backoff_interval")
    if opts.seed is None:
        opts.seed = random.SystemRandom().randrange(1_000_000)
    return opts


def make_runtime(home: Path, redis_url: str, interval: float) -> Runtime:
    settings = Settings(
        home=home, redis_url=redis_url, backoff_interval=interval,
        allowed_modules=ALLOWED_MODULES,
    )  # fmt: skip
    return Runtime.from_settings(settings)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    """Unwind like Ctrl-C so everything started is stopped; ignore repeats (`timeout`
    signals the process and again its group) so they cannot cut the clean-up short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(128 + signum)


def run(workdir: Path, opts: argparse.Namespace) -> dict[str, Any]:
    redis_server = RedisServer(directory=workdir / "redis").start()
    runtimes: list[Runtime] = []
    try:
        heal_rt = make_runtime(workdir / "heal", redis_server.url, opts.interval)
        runtimes.append(heal_rt)
        heal = bench_healing(heal_rt, interval=opts.interval, kills=opts.kills, seed=opts.seed)
        heal_rt.state.client.flushall()
        tick_rt = make_runtime(workdir / "ticks", redis_server.url, opts.interval)
        runtimes.append(tick_rt)
        cost = bench_tick_cost(tick_rt, workdir, sizes=opts.sizes, ticks=opts.ticks)
    finally:
        for rt in runtimes:
            rt.close()
        redis_server.stop()
    return {"seed": opts.seed, "healing": heal, "tick_cost": cost}


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    tally = WarningTally()
    logging.getLogger().addHandler(tally)
    if opts.log:
        logging.getLogger().addHandler(logging.StreamHandler())
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jsorc-bench-") as tmp:
        results = run(Path(tmp), opts)
    print("JSORC kept-alive services: healing after a kill, and regeneration tick cost")
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, seed {results['seed']}, "
        f"run took {time.monotonic() - started:.0f} s\n"
    )
    print_healing(results["healing"])
    print_tick_cost(results["tick_cost"])
    print_warnings(tally)
    if opts.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
