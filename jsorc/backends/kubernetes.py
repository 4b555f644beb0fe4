"""The Kubernetes backend: each remote action's server as a Deployment and a Service.

The objects come from the action's config (objects by kind, Jaseci's form), a template it
names, or manifests/action-server.yaml, and are reconciled under the owner
`action-<server>`. spawn returns the Service's URL once the Deployment has an available
replica; whether the server answers is the caller's probe. The cluster is the record.
Hazard: the default URL resolves inside the cluster only (see `url_template`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsorc.actions.configs import ActionConfig
from jsorc.errors import BackendError
from jsorc.kube import labels
from jsorc.kube.client import KubeClient
from jsorc.kube.errors import ManifestError, TimedOut
from jsorc.kube.kinds import BUILTIN_BY_NAME, Kind
from jsorc.kube.manifests import ACTION_TEMPLATE, default_dir, from_kinds, load_file
from jsorc.kube.objects import Ref, list_labelled
from jsorc.kube.reconciling import ReconcileReport, prune, reconcile, reconcile_service
from jsorc.kube.watching import wait_for

logger = logging.getLogger(__name__)

# Where an action server answers, from inside the cluster.
IN_CLUSTER_URL = "http://{service}.{namespace}.svc:{port}"
# Object names of action servers: this prefix, then the action's name made DNS-safe.
SERVER_PREFIX = "jsorc-action-"
# Characters of an action's name kept in object names; longer or altered names get a hash.
NAME_ROOM = 40
# Characters of that hash.
NAME_HASH = 6
COMPONENT = "action-server"

_DEPLOYMENT = BUILTIN_BY_NAME["Deployment"]
_SERVICE = BUILTIN_BY_NAME["Service"]


class KubernetesBackend:
    def __init__(
        self,
        *,
        client: KubeClient,
        namespace: str,
        image: str,
        unsafe: bool = False,
        manifest_dir: Path | None = None,
        url_template: str = IN_CLUSTER_URL,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.image = image
        self.unsafe = unsafe
        self.manifest_dir = Path(manifest_dir) if manifest_dir else default_dir()
        self.url_template = url_template

    def spawn(self, config: ActionConfig, *, timeout: float) -> str:
        objects = self.manifest(config)
        name = _only(objects, "Deployment", config.name)["metadata"].get("name", "")
        deployment = Ref(_DEPLOYMENT, str(name), self.namespace)
        service = _only(objects, "Service", config.name)
        reconcile(
            self.client,
            objects,
            owner=owner_of(config.name),
            namespace=self.namespace,
            unsafe=self.unsafe,
        )
        try:
            wait_for(
                self.client,
                deployment,
                available,
                timeout=timeout,
                what=f"{deployment} to have an available replica",
            )
        except TimedOut as exc:
            self.retire(config.name)
            raise BackendError(
                f"action server {config.name!r}: {exc}; see `kubectl -n {self.namespace} "
                f"describe deployment {deployment.name}`"
            ) from exc
        logger.info("Action server %r is available as %s.", config.name, deployment)
        return self._url(service)

    def alive(self, name: str) -> bool:
        return any(available(obj) for obj in self._owned(name, _DEPLOYMENT))

    def url(self, name: str) -> str | None:
        services = self._owned(name, _SERVICE)
        return self._url(services[0]) if services else None

    def retire(self, name: str) -> bool:
        # Never unsafe here: a volume claim outlives a retire, and the next spawn finds it.
        report = prune(self.client, owner=owner_of(name), namespace=self.namespace, unsafe=False)
        return bool(report.deleted)

    def names(self) -> list[str]:
        deployments = list_labelled(
            self.client,
            _DEPLOYMENT,
            namespace=self.namespace,
            labels={labels.COMPONENT: COMPONENT, labels.NAMESPACE: self.namespace},
        )
        return sorted(
            {labels.annotations_of(obj).get(labels.ACTION_NAME, "") for obj in deployments} - {""}
        )

    def apply_service(self, name: str) -> ReconcileReport | None:
        """Reconcile the kept-alive service manifests/services/<name>.yaml (None: no file)."""
        return reconcile_service(
            self.client,
            name,
            namespace=self.namespace,
            image=self.image,
            unsafe=self.unsafe,
            manifest_dir=self.manifest_dir,
        )

    def manifest(self, config: ActionConfig) -> list[dict[str, Any]]:
        """The action server's objects, placeholders filled and marked as the action's."""
        values = {
            "name": config.name,
            "server": server_name(config.name),
            "namespace": self.namespace,
            "module": config.module,
            "loaded_module": config.loaded_module,
            "image": self.image,
        }
        if config.remote:
            source = f"the remote config of {config.name!r}"
            objects = from_kinds(config.remote, values=values, source=source)
        else:
            objects = load_file(self._template(config.remote_template), values=values)
        for obj in objects:
            meta = obj.setdefault("metadata", {})
            meta.setdefault("labels", {}).update(
                {labels.COMPONENT: COMPONENT, labels.ACTION: server_name(config.name)}
            )
            meta.setdefault("annotations", {})[labels.ACTION_NAME] = config.name
        return objects

    def _template(self, name: str | None) -> Path:
        if name is None:
            return self.manifest_dir / ACTION_TEMPLATE
        if Path(name).name != name or name.startswith("."):
            raise ManifestError(
                f"remote_template {name!r} must be the name of a file in {self.manifest_dir}"
            )
        return self.manifest_dir / name

    def _owned(self, name: str, kind: Kind) -> list[dict[str, Any]]:
        owner = {labels.OWNER: owner_of(name), labels.NAMESPACE: self.namespace}
        return list_labelled(self.client, kind, namespace=self.namespace, labels=owner)

    def _url(self, service: Mapping[str, Any]) -> str:
        ports = (service.get("spec") or {}).get("ports") or [{}]
        return self.url_template.format(
            service=service["metadata"]["name"],
            namespace=self.namespace,
            port=ports[0].get("port", 80),
        )


def available(deployment: Mapping[str, Any] | None) -> bool:
    """Whether a Deployment has at least one available replica."""
    status = (deployment or {}).get("status") or {}
    return int(status.get("availableReplicas") or 0) >= 1


def server_name(action: str) -> str:
    """The DNS-safe object name of an action's server, unique per action name."""
    slug = re.sub(r"[^a-z0-9-]+", "-", action.lower()).strip("-")
    if slug != action or len(slug) > NAME_ROOM:
        digest = hashlib.sha256(action.encode()).hexdigest()[:NAME_HASH]
        slug = f"{slug[: NAME_ROOM - NAME_HASH - 1].rstrip('-')}-{digest}".lstrip("-")
    return SERVER_PREFIX + slug


def owner_of(action: str) -> str:
    return "action-" + server_name(action).removeprefix(SERVER_PREFIX)


def _only(objects: list[dict[str, Any]], kind: str, action: str) -> dict[str, Any]:
    found = [obj for obj in objects if obj.get("kind") == kind]
    if len(found) != 1:
        raise ManifestError(
            f"the manifest of action {action!r} must hold exactly one {kind}, not {len(found)}"
        )
    return found[0]
