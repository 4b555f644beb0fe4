"""Kubernetes verbs against an HTTP-level emulator of the API server (kmock), through the
real `kubernetes` client: every kind, and the failures a real cluster produces
(404 on delete, 409 right after a delete, 410 on a watch, no answer, slow answers).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import kmock
import pytest
from kubernetes import client as k8s

from jsorc.errors import BackendError
from jsorc.kube import errors
from jsorc.kube.client import KubeClient, client_for
from jsorc.kube.creating import create
from jsorc.kube.deleting import delete
from jsorc.kube.kinds import KindTable
from jsorc.kube.objects import Ref, list_labelled, read
from jsorc.kube.patching import patch
from jsorc.kube.watching import wait_for
from tests.kube.emulator import ApiServerEmulator
from tests.kube.samples import NAMESPACE, WHERE, WIDGET_CRD, sample

KINDS = KindTable.for_objects([WIDGET_CRD])
# kmock 0.8 fails to parse the path /api/v1/namespaces (its parser expects a namespace
# name after "namespaces") and answers 500 before any reaction can match.
KMOCK_NAMESPACES = pytest.mark.skip(reason="kmock 0.8 cannot serve /api/v1/namespaces")
EMULATED_KINDS = [
    pytest.param(kind, marks=KMOCK_NAMESPACES) if kind == "Namespace" else kind
    for kind in sorted(WHERE)
]
STATUS_410 = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "reason": "Expired",
    "message": "too old resource version",
    "code": 410,
}


def ref_of(obj: dict[str, Any]) -> Ref:
    kind = KINDS.lookup(obj["apiVersion"], obj["kind"])
    assert kind is not None
    return Ref.of(kind, obj)


def in_thread(work: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Run `work()` in a thread; its result or error lands in the returned dict."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except Exception as exc:  # handed to the test, which asserts on it
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("kind", EMULATED_KINDS)
def test_each_kind_is_created_read_patched_and_deleted_at_its_own_path(
    emulator: ApiServerEmulator, client: KubeClient, kind: str
) -> None:
    name = NAMESPACE if kind == "Namespace" else "example"
    obj = sample(kind, name)
    ref = ref_of(obj)
    _, resource, namespaced, collection = WHERE[kind]
    namespace = NAMESPACE if namespaced else None
    item = f"{collection}/{obj['metadata']['name']}"

    create(client, ref, obj)
    assert read(client, ref) == obj
    patched = patch(client, ref, {"metadata": {"labels": {"tier": "gold"}}})
    assert patched["metadata"]["labels"] == {"tier": "gold"}
    assert emulator.get(resource, namespace, ref.name)["metadata"]["labels"] == {"tier": "gold"}
    assert delete(client, ref) is True
    assert emulator.get(resource, namespace, ref.name) is None
    assert read(client, ref) is None

    assert emulator.writes() == [("POST", collection), ("PATCH", item), ("DELETE", item)]
    patch_request = next(r for r in emulator.requests() if r.method.value == "PATCH")
    assert patch_request.headers["Content-Type"] == "application/merge-patch+json"


def test_deleting_what_is_not_there_succeeds(client: KubeClient) -> None:
    ref = ref_of(sample("ConfigMap", "never-made"))

    assert delete(client, ref) is False
    assert delete(client, ref) is False


def test_creating_over_a_live_object_is_a_conflict(client: KubeClient) -> None:
    obj = sample("ConfigMap", "settings")
    create(client, ref_of(obj), obj)

    with pytest.raises(errors.Conflict, match="ConfigMap jsorc/settings"):
        create(client, ref_of(obj), obj)


def test_create_right_after_a_delete_waits_for_the_old_object_to_go(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    old = {**sample("ConfigMap", "settings"), "data": {"version": "old"}}
    old["metadata"] = {**old["metadata"], "finalizers": ["example.com/hold"]}
    new = {**sample("ConfigMap", "settings"), "data": {"version": "new"}}
    ref = ref_of(old)
    create(client, ref, old)
    assert delete(client, ref) is True
    assert emulator.get("v1/configmaps", NAMESPACE, "settings")["metadata"]["deletionTimestamp"]

    thread, outcome = in_thread(lambda: create(client, ref, new, gone_wait=20))
    emulator.wait_for(lambda: emulator.watchers("v1/configmaps"), "the create watching")
    # Now a controller finishes its clean-up and drops the finalizer.
    patch(client, ref, {"metadata": {"finalizers": None}})
    thread.join(20)

    assert "error" not in outcome
    assert emulator.get("v1/configmaps", NAMESPACE, "settings") == new
    posts = [path for method, path in emulator.writes() if method == "POST"]
    assert posts == ["/api/v1/namespaces/jsorc/configmaps"] * 3  # old, refused, new


def test_create_after_a_delete_gives_up_after_its_bound(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    old = sample("ConfigMap", "settings")
    old["metadata"]["finalizers"] = ["example.com/hold"]
    ref = ref_of(old)
    create(client, ref, old)
    delete(client, ref)

    with pytest.raises(errors.Conflict, match="still being deleted"):
        create(client, ref, sample("ConfigMap", "settings"), gone_wait=0.5)
    assert emulator.get("v1/configmaps", NAMESPACE, "settings")["data"] == old["data"]


@pytest.mark.parametrize(
    "expiry",
    [
        pytest.param((b"", {"type": "ERROR", "object": STATUS_410}), id="error-event"),
        pytest.param((410, STATUS_410), id="http-410"),
    ],
)
def test_a_watch_that_gets_410_gone_lists_again(
    emulator: ApiServerEmulator, client: KubeClient, expiry: tuple[Any, Any]
) -> None:
    obj = sample("Deployment", "web")
    ref = ref_of(obj)
    create(client, ref, obj)
    first, second = expiry
    emulator.react(lambda h: h["watch apps/v1/deployments"][:1] << first << second)

    def available(deployment: dict[str, Any] | None) -> bool:
        return bool(deployment and deployment.get("status", {}).get("availableReplicas"))

    thread, outcome = in_thread(
        lambda: wait_for(client, ref, available, timeout=20, what="web to be available")
    )
    emulator.wait_for(lambda: emulator.watchers("apps/v1/deployments"), "the second watch")
    apps = k8s.AppsV1Api(client.api)
    apps.patch_namespaced_deployment_status(
        "web", NAMESPACE, {"status": {"availableReplicas": 1}},
        _content_type="application/merge-patch+json",
    )  # fmt: skip
    thread.join(20)

    assert outcome["result"]["status"] == {"availableReplicas": 1}
    reads = [r.action.value for r in emulator.requests() if r.method.value == "GET" and r.action]
    assert reads == ["LIST", "WATCH", "LIST", "WATCH"]


def test_a_wait_that_never_comes_true_times_out(client: KubeClient) -> None:
    obj = sample("Deployment", "web")
    create(client, ref_of(obj), obj)

    with pytest.raises(errors.TimedOut, match="web to be available"):
        wait_for(client, ref_of(obj), lambda d: False, timeout=0.5, what="web to be available")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("verb", ["read", "list", "create", "patch", "delete", "watch"])
def test_an_unreachable_api_server_is_unavailable(verb: str) -> None:
    client = client_for(f"http://127.0.0.1:{closed_port()}", timeout=(1.0, 1.0))
    obj = sample("ConfigMap", "settings")
    ref = ref_of(obj)
    calls = {
        "read": lambda: read(client, ref),
        "list": lambda: list_labelled(client, ref.kind, namespace=NAMESPACE, labels={"a": "b"}),
        "create": lambda: create(client, ref, obj),
        "patch": lambda: patch(client, ref, {"data": {"a": "b"}}),
        "delete": lambda: delete(client, ref),
        "watch": lambda: wait_for(client, ref, lambda o: False, timeout=5, what="never"),
    }

    with pytest.raises(errors.Unavailable, match="did not answer") as caught:
        calls[verb]()
    assert isinstance(caught.value, BackendError)


@pytest.mark.parametrize("verb", ["read", "list", "create", "patch", "delete"])
def test_a_slow_api_server_times_out_on_every_verb(emulator: ApiServerEmulator, verb: str) -> None:
    client = client_for(emulator.url, timeout=(1.0, 0.3))
    obj = sample("ConfigMap", "settings")
    ref = ref_of(obj)
    if verb in ("read", "patch", "delete"):
        create(client, ref, obj)
    # The answer comes, but long after the client stopped waiting for it. (A reaction
    # that answers nothing falls through to the emulator, and is used up.)
    emulator.react(lambda h: h[kmock.resource("v1/configmaps")] << slow)
    calls = {
        "read": lambda: read(client, ref),
        "list": lambda: list_labelled(client, ref.kind, namespace=NAMESPACE, labels={"a": "b"}),
        "create": lambda: create(client, ref, obj),
        "patch": lambda: patch(client, ref, {"data": {"a": "b"}}),
        "delete": lambda: delete(client, ref),
    }

    with pytest.raises(errors.Unavailable, match="timed out"):
        calls[verb]()


async def slow() -> None:
    await asyncio.sleep(1.5)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, errors.Invalid),
        (403, errors.Forbidden),
        (409, errors.Conflict),
        (422, errors.Invalid),
        (429, errors.Unavailable),
        (500, errors.Unavailable),
        (503, errors.Unavailable),
    ],
)
def test_api_errors_become_the_projects_own(
    emulator: ApiServerEmulator, client: KubeClient, status: int, error: type
) -> None:
    message = f"the server says {status}"
    body = {"kind": "Status", "apiVersion": "v1", "code": status, "message": message}
    obj = sample("ConfigMap", "settings")
    ref = ref_of(obj)
    create(client, ref, obj)
    emulator.react(lambda h: h["patch"][:1] << status << body)

    with pytest.raises(error, match=message) as caught:
        patch(client, ref, {"data": {"a": "b"}})
    assert caught.value.status == status


def test_an_object_the_clients_schema_refuses_is_invalid(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    broken = sample("Deployment", "web")
    broken["spec"]["replicaz"] = 3

    with pytest.raises(errors.Invalid, match="replicaz"):
        create(client, ref_of(broken), broken)
    assert emulator.writes() == []


def test_listing_by_label_returns_only_what_carries_every_label(client: KubeClient) -> None:
    for name, labels in [("a", {"team": "x", "tier": "1"}), ("b", {"team": "x"}), ("c", {})]:
        obj = sample("ConfigMap", name)
        obj["metadata"]["labels"] = labels
        create(client, ref_of(obj), obj)
    kind = ref_of(sample("ConfigMap", "a")).kind

    found = list_labelled(client, kind, namespace=NAMESPACE, labels={"team": "x"})

    assert sorted(obj["metadata"]["name"] for obj in found) == ["a", "b"]
