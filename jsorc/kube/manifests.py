"""Manifests: multi-document YAML with ${placeholders}, loaded into plain objects.

The YAML is parsed first and placeholders are filled in string by string, so no value can
change a document's structure. Only `${name}` is a placeholder and `$${` writes a literal
`${`; any other `$` (a regex `$1`, a Kubernetes `$(VAR)`) is left as it is.
Not here: whether a manifest is safe (checks.py) or applying it (reconciling.py).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from jsorc.kube.errors import ManifestError
from jsorc.kube.kinds import BUILTIN_BY_NAME

# The action-server template, in the manifest directory.
ACTION_TEMPLATE = "action-server.yaml"
# Kept-alive services' manifests, one file per service, in this sub-directory.
SERVICES_DIR = "services"


class _Template(string.Template):
    pattern = r"""
    \$(?:
      (?P<escaped>\$)(?=\{)                   |  # $${ -> ${
      \{(?P<braced>[_a-zA-Z][_a-zA-Z0-9]*)\}  |  # ${name}
      (?P<named>(?!))                         |  # never: a bare $name stays as it is
      (?P<invalid>(?!))
    )
    """


def default_dir() -> Path:
    """`manifests/` beside the jsorc package (a checkout; /app in the image), else ./manifests."""
    beside = Path(__file__).resolve().parents[2] / "manifests"
    return beside if beside.is_dir() else Path("manifests").resolve()


def load(text: str, *, values: Mapping[str, str], source: str) -> list[dict[str, Any]]:
    """The objects of a multi-document YAML text, placeholders filled from `values`."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source} is not valid YAML: {exc}") from exc
    objects = []
    for number, document in enumerate(documents, 1):
        if document is None:
            continue
        where = f"{source} (document {number})"
        if not isinstance(document, dict):
            raise ManifestError(f"{where} is a {type(document).__name__}, not a Kubernetes object")
        objects.append(fill(document, values, where=where))
    return objects


def load_file(path: Path, *, values: Mapping[str, str]) -> list[dict[str, Any]]:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc
    return load(text, values=values, source=str(path))


def from_kinds(
    remote: Mapping[str, Any], *, values: Mapping[str, str], source: str
) -> list[dict[str, Any]]:
    """Objects given by kind, as Jaseci's action configs give them: {"Service": {...}, ...}.

    Each value is one object or a list of them; `kind` and a built-in kind's `apiVersion`
    are filled in when missing.
    """
    objects = []
    for kind, entries in remote.items():
        for obj in entries if isinstance(entries, list) else [entries]:
            where = f"{source} ({kind})"
            if not isinstance(obj, Mapping):
                raise ManifestError(f"{where} is a {type(obj).__name__}, not a Kubernetes object")
            if obj.get("kind", kind) != kind:
                raise ManifestError(f"{where} says kind {obj.get('kind')!r}; use {kind!r}")
            builtin = BUILTIN_BY_NAME.get(kind)
            defaults = {"apiVersion": builtin.api_version} if builtin else {}
            objects.append(fill({**defaults, **obj, "kind": kind}, values, where=where))
    return objects


def fill(value: Any, values: Mapping[str, str], *, where: str) -> Any:
    """`value` with every ${placeholder} in its strings (keys too) replaced."""
    if isinstance(value, str):
        try:
            return _Template(value).substitute(values)
        except KeyError as exc:
            known = ", ".join(f"${{{key}}}" for key in sorted(values)) or "none"
            raise ManifestError(
                f"{where} uses ${{{exc.args[0]}}}, which has no value; known placeholders: {known}"
            ) from exc
    if isinstance(value, Mapping):
        return {
            fill(key, values, where=where): fill(item, values, where=where)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [fill(item, values, where=where) for item in value]
    return value


def render(objects: Iterable[Mapping[str, Any]]) -> str:
    """Objects as multi-document YAML, e.g. for `kubectl apply -f -`."""
    return yaml.safe_dump_all([dict(obj) for obj in objects], sort_keys=False)
