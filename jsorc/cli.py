"""The `jsorc` command line: the admin API's words, plus the processes of the stack.

Jaseci users type single-dash long options (`-mode remote`); they are accepted as
`--mode remote`. Logging is configured here and nowhere in the library.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jsorc.errors import JsorcError
from jsorc.measure import commands as measure_commands
from jsorc.settings import Settings

_SINGLE_DASH_LONG = re.compile(r"^-([a-z][a-z0-9_-]+)(=.*)?$")


def normalise_args(argv: Sequence[str]) -> list[str]:
    """`-mode remote` -> `--mode remote`; short flags and negative numbers stay."""
    out = []
    for arg in argv:
        match = _SINGLE_DASH_LONG.match(arg)
        out.append(f"-{arg}" if match else arg)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jsorc", description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start Redis, worker, Beat and API; Ctrl-C stops them")
    up.add_argument("--api-port", type=int, help="0 for any free port")
    up.add_argument("--flower", action="store_true", help="also start Flower")
    up.add_argument("--flower-port", type=int, default=5555)
    up.add_argument(
        "--external-redis",
        action="store_true",
        help="use JSORC_REDIS_URL instead of a private Redis",
    )
    sub.add_parser("demo", help="start the stack and watch JSORC manage real actions")

    api = sub.add_parser("api", help="serve the HTTP API")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8716)
    sub.add_parser("beat", help="run Celery Beat on the database schedule")

    actions = sub.add_parser("actions", help="configure, load, unload and inspect actions")
    verbs = actions.add_subparsers(dest="verb", required=True)
    config = verbs.add_parser("config", help="register an action's config")
    config.add_argument("name")
    config.add_argument(
        "config", help="module exposing ACTION_CONFIGS, a JSON object, or @file.json"
    )
    load = verbs.add_parser("load", help="load an action as a module or a remote service")
    load.add_argument("name")
    load.add_argument("--mode", required=True)
    load.add_argument(
        "--keep-service",
        action="store_true",
        help="when moving to module mode, leave the remote server running",
    )
    load.add_argument("--wait", action="store_true", help="wait until it is READY")
    status = verbs.add_parser("status", help="one action's state, or all")
    status.add_argument("name", nargs="?")
    unload = verbs.add_parser("unload", help="unload an action; retires its server")
    unload.add_argument("name")
    unload.add_argument("--mode", default="auto")
    unload.add_argument(
        "--keep-service", action="store_true", help="leave the remote server running"
    )

    config = sub.add_parser("config", help="read or change JSORC's live settings")
    config_verbs = config.add_subparsers(dest="verb", required=True)
    config_get = config_verbs.add_parser("get", help="every live setting, or one")
    config_get.add_argument("name", nargs="?")
    config_set = config_verbs.add_parser("set", help="change a setting while JSORC runs")
    config_set.add_argument("name", help="e.g. backoff_interval")
    config_set.add_argument("value", help="a JSON value, e.g. 5, true or '[\"redis\"]'")

    policy = sub.add_parser("actionpolicy", help="set or show the placement policy")
    policy_verbs = policy.add_subparsers(dest="verb", required=True)
    policy_set = policy_verbs.add_parser("set", help="default, evaluation or adaptive")
    policy_set.add_argument("name")
    policy_set.add_argument("params", nargs="*", metavar="KEY=VALUE",
                            help="e.g. node_memory_mb=4096 eval_phase=10")  # fmt: skip
    policy_verbs.add_parser("get", help="the policy in force and its phase")

    service = sub.add_parser("service", help="inspect or refresh a kept-alive service")
    service_verbs = service.add_subparsers(dest="verb", required=True)
    for verb, text in (("info", "its health, config and history"), ("refresh", "rebuild it now")):
        service_verbs.add_parser(verb, help=text).add_argument("name")

    call = sub.add_parser("call", help="call an action function through the router")
    call.add_argument("function", help='"group.function", e.g. text_tools.word_count')
    call.add_argument(
        "arguments",
        nargs="?",
        default="{}",
        help="a JSON object of named arguments, or a JSON array of positional ones",
    )
    measure_commands.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(normalise_args(sys.argv[1:] if argv is None else argv))
    quiet = args.command in (
        "demo", "actions", "call", "config", "service", "actionpolicy",
        *measure_commands.COMMANDS,
    )  # fmt: skip
    level = logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _run(args)
    except JsorcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.command == "up":
        return _up(settings, args)
    if args.command == "demo":
        from jsorc.demo import run_demo

        return run_demo(settings)
    if args.command == "api":
        return _api(settings, args.host, args.port)
    if args.command == "beat":
        return _beat(settings)
    if args.command == "call":
        return _call(settings, args.function, args.arguments)
    if args.command == "actionpolicy":
        client = _client(settings)
        if args.verb == "get":
            result = client.actionpolicy_get()
        else:
            result = client.actionpolicy_set(args.name, _key_values(args.params))
        print(json.dumps(result, indent=2))
        return 0
    if args.command in measure_commands.COMMANDS:
        return measure_commands.run(_client(settings), args)
    if args.command == "service":
        client = _client(settings)
        if args.verb == "info":
            print(json.dumps(client.service_info(args.name), indent=2))
        else:
            print(client.service_refresh(args.name))
        return 0
    if args.command == "config":
        client = _client(settings)
        if args.verb == "get":
            result = client.config_get(args.name)
        else:
            result = client.config_set(args.name, args.value)
        print(json.dumps(result, indent=2))
        return 0
    return _actions(settings, args)


def _up(settings: Settings, args: argparse.Namespace) -> int:
    from jsorc.stack import Stack

    stack = Stack(
        settings,
        api_port=args.api_port,
        external_redis=args.external_redis,
        flower_port=args.flower_port if args.flower else None,
    )
    stack.start()
    print("JSORC is up; Ctrl-C stops everything it started.", flush=True)
    try:
        stack.supervise()
    finally:
        stack.stop()
    return 0


def _api(settings: Settings, host: str, port: int) -> int:
    import uvicorn

    from jsorc.api.app import create_app
    from jsorc.runtime import Runtime
    from tasks.app import celery_dispatch

    app = create_app(Runtime.from_settings(settings), celery_dispatch)
    uvicorn.run(app, host=host, port=port, log_level="info")
    return 0


def _beat(settings: Settings) -> int:
    from beat_schedule import schedule
    from jsorc.runtime import Runtime
    from tasks.app import app

    rt = Runtime.from_settings(settings)
    schedule.prepare(rt.settings, rt.state.client)
    app.Beat(scheduler=schedule.SCHEDULER, loglevel="INFO").run()
    return 0


def _client(settings: Settings) -> Any:
    from jsorc.client import Client

    stack_file = settings.home / "stack.json"
    api_url, redis_url, token = settings.api_url, settings.redis_url, settings.api_token
    if stack_file.exists():
        stack = json.loads(stack_file.read_text())
        api_url, redis_url = stack["api_url"], stack["redis_url"]
        token = token or stack.get("api_token", "")
    return Client(
        api_url, redis_url=redis_url, allowed_modules=settings.allowed_modules, token=token
    )


def _actions(settings: Settings, args: argparse.Namespace) -> int:
    client = _client(settings)
    if args.verb == "config":
        result: Any = client.configure(args.name, _config_argument(args.config))
    elif args.verb == "load":
        result = client.load(args.name, args.mode, keep_service=args.keep_service)
        if args.wait and args.mode == "remote":
            result = client.wait_for(args.name)
    elif args.verb == "status":
        result = client.status(args.name)
    else:
        result = client.unload(args.name, args.mode, keep_service=args.keep_service)
    print(json.dumps(result, indent=2))
    return 0


def _key_values(pairs: list[str]) -> dict[str, Any]:
    """KEY=VALUE words as a mapping; values are JSON where they parse, else strings."""
    from jsorc.errors import BadRequest

    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise BadRequest(f"parameters are KEY=VALUE words, not {pair!r}")
        try:
            values[key] = json.loads(raw)
        except ValueError:
            values[key] = raw
    return values


def _config_argument(raw: str) -> str | dict[str, Any]:
    if raw.startswith("@"):
        return json.loads(Path(raw[1:]).read_text())
    if raw.lstrip().startswith("{"):
        return json.loads(raw)
    return raw


def _call(settings: Settings, function: str, raw: str) -> int:
    from jsorc.errors import BadRequest

    try:
        arguments = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"arguments must be JSON: {exc}") from exc
    args, kwargs = (arguments, {}) if isinstance(arguments, list) else ([], arguments)
    if not isinstance(kwargs, dict):
        raise BadRequest("arguments must be a JSON object or array")
    with _client(settings).router(listen=False) as router:
        print(json.dumps(router.call(function, *args, **kwargs), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
