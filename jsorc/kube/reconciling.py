"""Reconciliation: make the cluster hold exactly what a manifest says, under one owner.

Checks first, then in dependency order: create what is missing, patch what changed (by the
version label), keep what did not; last, delete objects this owner applied before that the
manifest dropped. Protected kinds (volume claims, CRDs) are never deleted unless JSORC
runs unsafe: they are reported as retained instead; JSORC's namespace is never deleted.
Hazard: deletion runs only after every wanted object was applied, so a failure half-way
(an unreachable API server) never removes anything; the next run converges.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jsorc.kube import labels
from jsorc.kube.checks import check_manifest
from jsorc.kube.client import KubeClient
from jsorc.kube.creating import GONE_WAIT, create, terminating
from jsorc.kube.deleting import delete
from jsorc.kube.errors import Conflict, Forbidden, ManifestError
from jsorc.kube.kinds import KindTable
from jsorc.kube.manifests import SERVICES_DIR, default_dir, load_file
from jsorc.kube.objects import Ref, list_labelled, read
from jsorc.kube.patching import merged, outline, patch, removals

logger = logging.getLogger(__name__)

_SERVICE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclasses.dataclass
class ReconcileReport:
    """What one reconciliation did, each object as "Kind namespace/name"."""

    owner: str
    created: list[str] = dataclasses.field(default_factory=list)
    patched: list[str] = dataclasses.field(default_factory=list)
    kept: list[str] = dataclasses.field(default_factory=list)
    deleted: list[str] = dataclasses.field(default_factory=list)
    # Dropped from the manifest but protected, so left in place.
    retained: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        counts = {k: len(v) for k, v in self.to_dict().items() if isinstance(v, list)}
        return ", ".join(f"{count} {what}" for what, count in counts.items())


def reconcile(
    client: KubeClient,
    objects: Iterable[Mapping[str, Any]],
    *,
    owner: str,
    namespace: str,
    unsafe: bool,
    gone_wait: float = GONE_WAIT,
) -> ReconcileReport:
    """Make the objects labelled for `owner` in `namespace` exactly `objects`."""
    objects = list(objects)
    _check_owner(owner)
    kinds = KindTable.for_objects(objects)
    source = f"the manifest of {owner!r}"
    check_manifest(objects, namespace=namespace, unsafe=unsafe, kinds=kinds, source=source)
    wanted = [_prepare(obj, kinds, owner=owner, namespace=namespace) for obj in objects]
    wanted.sort(key=lambda pair: kinds.order(pair[0].kind))
    report = ReconcileReport(owner=owner)
    for ref, body in wanted:
        _apply(client, ref, body, owner=(owner, namespace), report=report, gone_wait=gone_wait)
    keep = {_key(ref) for ref, _ in wanted}
    _prune(client, kinds, keep=keep, owner=owner, namespace=namespace, unsafe=unsafe, into=report)
    logger.info("Reconciled %r in %r: %s.", owner, namespace, report.summary())
    return report


def reconcile_file(
    client: KubeClient,
    path: Path,
    *,
    owner: str,
    namespace: str,
    unsafe: bool,
    values: Mapping[str, str] | None = None,
) -> ReconcileReport:
    """Reconcile the manifest at `path`; ${namespace} is always among its placeholders."""
    objects = load_file(path, values={**(values or {}), "namespace": namespace})
    return reconcile(client, objects, owner=owner, namespace=namespace, unsafe=unsafe)


def reconcile_service(
    client: KubeClient,
    name: str,
    *,
    namespace: str,
    image: str,
    unsafe: bool,
    manifest_dir: Path | None = None,
) -> ReconcileReport | None:
    """Reconcile a kept-alive service, manifests/services/<name>.yaml, as `service-<name>`;
    None when the service has no such manifest (nothing to apply, nothing applied)."""
    if not _SERVICE_NAME.match(name):
        raise ManifestError(f"service name {name!r} must be lower-case letters, digits and '-'")
    path = (manifest_dir or default_dir()) / SERVICES_DIR / f"{name}.yaml"
    if not path.is_file():
        return None
    return reconcile_file(
        client,
        path,
        owner=f"service-{name}",
        namespace=namespace,
        unsafe=unsafe,
        values={"name": name, "image": image},
    )


def prune(
    client: KubeClient,
    *,
    owner: str,
    namespace: str,
    unsafe: bool,
    kinds: KindTable | None = None,
) -> ReconcileReport:
    """Delete everything `owner` applied (protected kinds only when unsafe)."""
    _check_owner(owner)
    report = ReconcileReport(owner=owner)
    _prune(
        client, kinds or KindTable(), keep=set(), owner=owner, namespace=namespace,
        unsafe=unsafe, into=report,
    )  # fmt: skip
    logger.info("Pruned %r in %r: %s.", owner, namespace, report.summary())
    return report


def _prepare(
    obj: Mapping[str, Any], kinds: KindTable, *, owner: str, namespace: str
) -> tuple[Ref, dict[str, Any]]:
    """The object as it is applied: namespace filled in, owner, version and key outline set."""
    kind = kinds.lookup(obj["apiVersion"], obj["kind"])
    if kind is None:  # check_manifest reports it first, with the reason
        raise ManifestError(f"{obj['kind']} ({obj['apiVersion']}) is not a kind JSORC applies")
    body = copy.deepcopy(dict(obj))
    meta = body.setdefault("metadata", {})
    if kind.namespaced:
        meta["namespace"] = namespace
    meta.setdefault("labels", {}).update({labels.OWNER: owner, labels.NAMESPACE: namespace})
    meta["labels"][labels.VERSION] = labels.version_of(body)
    annotations = meta.setdefault("annotations", {})
    annotations[labels.APPLIED_KEYS] = json.dumps(outline(body), separators=(",", ":"))
    return Ref.of(kind, body), body


def _apply(
    client: KubeClient,
    ref: Ref,
    body: dict[str, Any],
    *,
    owner: tuple[str, str],
    report: ReconcileReport,
    gone_wait: float,
) -> None:
    """Create, patch or keep one object; `owner` is (owner, JSORC's namespace)."""
    live = read(client, ref)
    if live is None or terminating(live):
        create(client, ref, body, gone_wait=gone_wait)
        report.created.append(str(ref))
        return
    live_labels = labels.labels_of(live)
    holder = (live_labels.get(labels.OWNER), live_labels.get(labels.NAMESPACE))
    if holder[0] is not None and holder != owner:
        raise Conflict(
            f"{ref} belongs to {holder[0]!r} of namespace {holder[1]!r}, not to {owner[0]!r} "
            f"of {owner[1]!r}; rename it in one of the manifests"
        )
    if live_labels.get(labels.VERSION) == labels.labels_of(body)[labels.VERSION]:
        report.kept.append(str(ref))
        return
    if holder[0] is None:
        logger.warning("Adopting %s, which JSORC did not create.", ref)
    patch(client, ref, merged(body, removals(_applied_keys(live), body)))
    report.patched.append(str(ref))


def _prune(
    client: KubeClient,
    kinds: KindTable,
    *,
    keep: set[tuple[str, ...]],
    owner: str,
    namespace: str,
    unsafe: bool,
    into: ReconcileReport,
) -> None:
    selector = {labels.OWNER: owner, labels.NAMESPACE: namespace}
    for kind in reversed([kind for kind in kinds.all() if kind.prunable]):
        scope = namespace if kind.namespaced else None
        try:
            found = list_labelled(client, kind, namespace=scope, labels=selector)
        except Forbidden:
            # Nothing of this kind can be found to prune; the other kinds still are.
            logger.debug("Not allowed to list %s objects; none of them pruned.", kind.kind)
            continue
        for obj in found:
            ref = Ref.of(kind, obj)
            if _key(ref) in keep:
                continue
            if kind.protected and not unsafe:
                logger.warning("Keeping %s though its manifest dropped it (not unsafe).", ref)
                into.retained.append(str(ref))
            elif delete(client, ref):
                into.deleted.append(str(ref))


def _applied_keys(live: Mapping[str, Any]) -> dict[str, Any]:
    try:
        applied = json.loads(labels.annotations_of(live).get(labels.APPLIED_KEYS, "{}"))
    except ValueError:
        return {}
    return applied if isinstance(applied, dict) else {}


def _key(ref: Ref) -> tuple[str, ...]:
    """Identity across API versions: a custom object listed at another version is the same."""
    return (ref.kind.group, ref.kind.kind, ref.namespace or "", ref.name)


def _check_owner(owner: str) -> None:
    if not owner or not labels.valid_value(owner):
        raise ManifestError(
            f"owner {owner!r} cannot be a label value: use at most 63 letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit"
        )
