"""The whole Redis keyspace of JSORC, in one place.

Every key starts with `jsorc:` so a shared Redis stays readable. Hashes hold records;
JSON strings hold nested values inside them.
"""

PREFIX = "jsorc:"

# hash: action name -> config JSON
CONFIGS = PREFIX + "configs"

# hash per placed action: mode, status, url, spec, error, updated
PLACEMENT = PREFIX + "placement:{name}"
# set: names of actions that have a placement
PLACEMENTS = PREFIX + "placements"
# int: bumped on every placement change; routers compare it to know they are current
PLACEMENT_VERSION = PREFIX + "placement:version"
# pub/sub channel: the name of an action whose placement changed
PLACEMENT_CHANNEL = PREFIX + "placement:changes"

# hash per detached local process: pid, create_time, log, url; kind is "action" for
# action servers, "service" for kept-alive services
PROCESS = PREFIX + "process:{kind}:{name}"
# set: names with a process record, per kind
PROCESSES = PREFIX + "processes:{kind}"

# hash per kept-alive service: state, error, checked, outcome, restarts
SERVICE = PREFIX + "service:{name}"
# set: names of kept-alive services with a health record
SERVICES = PREFIX + "services"

# lock: one regeneration tick at a time across every worker and Beat
REGENERATION_LOCK = PREFIX + "lock:regeneration"
# string (JSON): the placement policy in force, {"name": ..., "params": {...}}
POLICY = PREFIX + "policy"
# string (JSON): the policy's working state, so any worker can continue it
POLICY_STATE = PREFIX + "policy:state"
# lock: one policy tick at a time
POLICY_LOCK = PREFIX + "lock:policy"
# hash per Celery worker (the canary): state, token of the canary in flight, sent,
# answered (epoch seconds)
WORKER = PREFIX + "worker:{name}"
# set: names of workers with a canary record
WORKERS = PREFIX + "workers"
# lock: one Beat at a time migrates and writes the schedule at start-up
BEAT_SETUP_LOCK = PREFIX + "lock:beat-setup"
# lock: one spawn or retire of a given action at a time
ACTION_LOCK = PREFIX + "lock:action:{name}"
# string with a TTL of half a tick: taken by the first tick of each interval, so two Beats
# firing the same interval give one regeneration
REGENERATION_SLOT = PREFIX + "regeneration:slot"
# hash: counters of regeneration ticks (run, skipped, respawned)
REGENERATION_STATS = PREFIX + "regeneration:stats"
# list: start times of the latest ticks that ran, newest first
REGENERATION_HISTORY = PREFIX + "regeneration:history"

# hash per latency series of a kind ("call": router calls labelled action|function|mode;
# "request": application requests labelled type|name): count, sum_ns, errors, and b<i>,
# the count in bucket i of jsorc.measure.histogram
LATENCY = PREFIX + "latency:{kind}:{series}"
# set per kind: the series that have a latency hash
LATENCIES = PREFIX + "latencies:{kind}"
# hash per measurement session kind (trackact, benchmark, tracksys): id, started, and the
# JSON snapshot the window is measured from; absent when the session is stopped
MEASURE_SESSION = PREFIX + "measure:{kind}"
# hash per load test: shard number -> requests done so far
LOADTEST_PROGRESS = PREFIX + "loadtest:{id}:progress"


def placement(name: str) -> str:
    return PLACEMENT.format(name=name)


def process(kind: str, name: str) -> str:
    return PROCESS.format(kind=kind, name=name)


def processes(kind: str) -> str:
    return PROCESSES.format(kind=kind)


def service(name: str) -> str:
    return SERVICE.format(name=name)


def action_lock(name: str) -> str:
    return ACTION_LOCK.format(name=name)


def latency(kind: str, series: str) -> str:
    return LATENCY.format(kind=kind, series=series)


def latencies(kind: str) -> str:
    return LATENCIES.format(kind=kind)


def measure_session(kind: str) -> str:
    return MEASURE_SESSION.format(kind=kind)


def loadtest_progress(test_id: int | str) -> str:
    return LOADTEST_PROGRESS.format(id=test_id)
