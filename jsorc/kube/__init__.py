"""Kubernetes for JSORC: manifests, their checks, and reconciliation on the official client.

Layered bottom-up: errors (the client's failures in JSORC's terms), client (connection and
timeouts), kinds and objects (which API call serves a kind), the verbs (creating, patching,
deleting, watching), then manifests, checks and reconciling. Nothing here knows about
actions; jsorc.backends.kubernetes builds action servers on top.
"""

from jsorc.kube.checks import check_manifest
from jsorc.kube.client import KubeClient, client_for, connect
from jsorc.kube.errors import (
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeError,
    ManifestError,
    NotFound,
    TimedOut,
    Unavailable,
)
from jsorc.kube.manifests import load, load_file
from jsorc.kube.reconciling import ReconcileReport, prune, reconcile, reconcile_file

__all__ = [
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "KubeClient",
    "KubeError",
    "ManifestError",
    "NotFound",
    "ReconcileReport",
    "TimedOut",
    "Unavailable",
    "check_manifest",
    "client_for",
    "connect",
    "load",
    "load_file",
    "prune",
    "reconcile",
    "reconcile_file",
]
