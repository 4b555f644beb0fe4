"""`python -m jsorc.kube`: check, render or apply JSORC's manifests from a shell.

  check FILE...   run the manifest checks; exit 1 listing every problem
  render FILE...  fill in the placeholders and print YAML, e.g. for `kubectl apply -f -`
  up              apply manifests/stack.yaml, then the kept-alive services it needs
Settings come from the environment (JSORC_NAMESPACE, JSORC_IMAGE, JSORC_KUBECONFIG, ...).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from jsorc.errors import JsorcError
from jsorc.kube.checks import check_manifest
from jsorc.kube.client import connect
from jsorc.kube.manifests import default_dir, load_file, render
from jsorc.kube.reconciling import reconcile_file, reconcile_service
from jsorc.settings import Settings

# The stack's own manifest, and the kept-alive services `up` applies after it, in order.
STACK = "stack.yaml"
STACK_SERVICES = ("redis", "database", "prometheus")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    settings = Settings.from_env()
    values = {"namespace": settings.namespace, "image": settings.image, **dict(args.set)}
    try:
        if args.command == "up":
            _up(settings)
        for path in args.files:
            objects = load_file(path, values=values)
            if args.command == "check":
                check_manifest(objects, namespace=settings.namespace, unsafe=settings.unsafe,
                               source=str(path))  # fmt: skip
                print(f"{path}: {len(objects)} objects, all checks passed")
            else:
                print(render(objects), end="")
    except JsorcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _up(settings: Settings) -> None:
    client = connect(settings)
    namespace, image, unsafe = settings.namespace, settings.image, settings.unsafe
    reports = [
        reconcile_file(
            client,
            default_dir() / STACK,
            owner="stack",
            namespace=namespace,
            unsafe=unsafe,
            values={"image": image},
        )
    ]
    for name in STACK_SERVICES:
        service = reconcile_service(client, name, namespace=namespace, image=image, unsafe=unsafe)
        reports += [service] if service else []
    for report in reports:
        print(json.dumps(report.to_dict()))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jsorc.kube", description="JSORC's manifests")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (("check", "check manifests"), ("render", "print filled-in manifests")):
        command = sub.add_parser(name, help=what)
        command.add_argument("files", nargs="+", type=Path)
        command.add_argument("--set", action="append", default=[], type=_assignment,
                             metavar="NAME=VALUE", help="a placeholder's value")  # fmt: skip
    up = sub.add_parser("up", help="apply the stack and its kept-alive services")
    up.set_defaults(files=[], set=[])
    return parser


def _assignment(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


if __name__ == "__main__":
    sys.exit(main())
