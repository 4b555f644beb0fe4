"""The Kubernetes backend: remote actions as a Deployment and a Service, spawned, found,
and retired through an HTTP-level emulator of the API server; and wired by make_backend.
"""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from jsorc.actions.configs import ActionConfig, parse_config
from jsorc.backends import make_backend
from jsorc.backends.kubernetes import KubernetesBackend
from jsorc.errors import BackendError, SettingsError
from jsorc.kube import errors
from jsorc.kube.client import KubeClient, client_for
from jsorc.placement import FAILED, READY, REMOTE, STARTING, Placement
from jsorc.runtime import Runtime
from jsorc.settings import Settings
from jsorc.spawning import spawn_action
from tests.kube.emulator import ApiServerEmulator
from tests.kube.samples import NAMESPACE, sample

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = ("jsorc_examples",)
# Seconds a local action server has to write its port file.
SERVER_START = 30.0


@pytest.fixture
def backend(client: KubeClient) -> KubernetesBackend:
    return KubernetesBackend(
        client=client, namespace=NAMESPACE, image="jsorc:test", manifest_dir=ROOT / "manifests"
    )


@pytest.fixture
def unreachable_backend() -> KubernetesBackend:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = client_for(f"http://127.0.0.1:{port}", timeout=(1.0, 1.0))
    return KubernetesBackend(client=client, namespace=NAMESPACE, image="jsorc:test")


def text_tools(**more: Any) -> ActionConfig:
    return parse_config(
        "text_tools", {"module": "jsorc_examples.text_tools", **more}, allowed=ALLOWED
    )


def deployments(emulator: ApiServerEmulator) -> set[str]:
    return emulator.names("apps/v1/deployments", NAMESPACE)


def services(emulator: ApiServerEmulator) -> set[str]:
    return emulator.names("v1/services", NAMESPACE)


def test_spawn_runs_the_action_as_a_deployment_and_a_service(
    emulator: ApiServerEmulator, backend: KubernetesBackend
) -> None:
    emulator.make_deployments_available()

    url = backend.spawn(text_tools(), timeout=10)

    [deployment_name] = deployments(emulator)
    assert services(emulator) == {deployment_name}
    assert deployment_name.startswith("jsorc-action-text-tools")
    assert len(deployment_name) <= 63 and "_" not in deployment_name
    assert url == f"http://{deployment_name}.jsorc.svc:80"
    deployment = emulator.get("apps/v1/deployments", NAMESPACE, deployment_name)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "jsorc:test"
    assert container["command"][3:7] == [
        "--name",
        "text_tools",
        "--module",
        "jsorc_examples.text_tools",
    ]


def test_an_action_server_is_alive_found_and_named_once_spawned(
    emulator: ApiServerEmulator, backend: KubernetesBackend
) -> None:
    emulator.make_deployments_available()
    assert backend.alive("text_tools") is False
    assert backend.url("text_tools") is None

    url = backend.spawn(text_tools(), timeout=10)

    assert backend.alive("text_tools") is True
    assert backend.url("text_tools") == url
    assert backend.names() == ["text_tools"]
    assert backend.alive("vectors") is False


def test_spawn_waits_until_the_deployment_has_an_available_replica(
    emulator: ApiServerEmulator, backend: KubernetesBackend, client: KubeClient
) -> None:
    outcome: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: outcome.update(url=backend.spawn(text_tools(), timeout=20)), daemon=True
    )
    thread.start()
    emulator.wait_for(lambda: emulator.watchers("apps/v1/deployments"), "spawn watching")
    assert "url" not in outcome
    [name] = deployments(emulator)
    # What the Deployment controller would do once a pod is ready:
    k8s.AppsV1Api(client.api).patch_namespaced_deployment_status(
        name, NAMESPACE, {"status": {"availableReplicas": 1}},
        _content_type="application/merge-patch+json",
    )  # fmt: skip
    thread.join(20)

    assert outcome["url"] == f"http://{name}.jsorc.svc:80"
    assert backend.alive("text_tools") is True


def test_a_spawn_that_never_becomes_available_fails_and_cleans_up(
    emulator: ApiServerEmulator, backend: KubernetesBackend
) -> None:
    with pytest.raises(BackendError, match="available replica"):
        backend.spawn(text_tools(), timeout=0.5)

    assert deployments(emulator) == set()
    assert services(emulator) == set()


def test_retire_deletes_what_spawn_created_and_a_second_retire_finds_nothing(
    emulator: ApiServerEmulator, backend: KubernetesBackend
) -> None:
    emulator.make_deployments_available()
    backend.spawn(text_tools(), timeout=10)
    other = parse_config("vectors", {"module": "jsorc_examples.vectors"}, allowed=ALLOWED)
    backend.spawn(other, timeout=10)

    assert backend.retire("text_tools") is True

    [left] = deployments(emulator)
    assert left.startswith("jsorc-action-vectors")
    assert services(emulator) == {left}
    assert backend.retire("text_tools") is False
    assert backend.names() == ["vectors"]


def test_a_retired_action_spawns_again_under_the_same_names(
    emulator: ApiServerEmulator, backend: KubernetesBackend
) -> None:
    emulator.make_deployments_available()
    first = backend.spawn(text_tools(), timeout=10)
    backend.retire("text_tools")

    assert backend.spawn(text_tools(), timeout=10) == first
    assert len(deployments(emulator)) == 1


def test_objects_given_by_kind_in_the_config_are_used_as_jaseci_gives_them(
    emulator: ApiServerEmulator, backend: KubernetesBackend
) -> None:
    emulator.make_deployments_available()
    service = sample("Service", "text-encoder")
    service["spec"]["ports"] = [{"port": 8000}]
    remote = {"Service": service, "Deployment": sample("Deployment", "text-encoder")}

    url = backend.spawn(text_tools(remote=remote), timeout=10)

    assert url == "http://text-encoder.jsorc.svc:8000"
    assert deployments(emulator) == services(emulator) == {"text-encoder"}
    assert backend.alive("text_tools") is True


def test_an_unsafe_action_manifest_is_refused_before_anything_is_applied(
    emulator: ApiServerEmulator, backend: KubernetesBackend
) -> None:
    deployment = sample("Deployment", "miner")
    deployment["spec"]["template"]["spec"]["hostNetwork"] = True
    remote = {"Service": sample("Service", "miner"), "Deployment": deployment}

    with pytest.raises(errors.ManifestError, match="hostNetwork"):
        backend.spawn(text_tools(remote=remote), timeout=10)
    assert emulator.writes() == []


def test_a_template_outside_the_manifest_folder_is_refused(backend: KubernetesBackend) -> None:
    with pytest.raises(errors.ManifestError, match="must be the name of a file"):
        backend.spawn(text_tools(remote_template="../secrets.yaml"), timeout=10)


def test_an_unreachable_api_server_is_reported_not_taken_for_a_dead_server(
    unreachable_backend: KubernetesBackend,
) -> None:
    with pytest.raises(errors.Unavailable):
        unreachable_backend.alive("text_tools")
    with pytest.raises(errors.Unavailable):
        unreachable_backend.spawn(text_tools(), timeout=5)


def test_kept_alive_services_are_applied_from_their_manifests(
    emulator: ApiServerEmulator, backend: KubernetesBackend
) -> None:
    report = backend.apply_service("redis")

    assert report is not None
    assert set(report.created) == {"Deployment jsorc/jsorc-redis", "Service jsorc/jsorc-redis"}
    assert backend.apply_service("redis").kept == report.created
    assert backend.apply_service("task") is None  # no Kubernetes manifest: nothing to apply


# The whole remote load, from STARTING to READY, with the action server running locally in
# place of the pod the emulator cannot run.


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[str]:
    port_file = tmp_path / "port"
    command = [
        sys.executable, "-m", "jsorc.server", "--name", "text_tools",
        "--module", "jsorc_examples.text_tools", "--port", "0", "--port-file", str(port_file),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + SERVER_START
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield f"http://127.0.0.1:{int(port_file.read_text())}"
    finally:
        process.terminate()
        process.wait(10)


def test_a_remote_load_goes_ready_through_the_kubernetes_backend(
    emulator: ApiServerEmulator, client: KubeClient, rt: Runtime, local_server: str
) -> None:
    emulator.make_deployments_available()
    backend = KubernetesBackend(
        client=client, namespace=NAMESPACE, image="jsorc:test", url_template=local_server
    )
    kube_rt = rt.with_backend(backend)
    rt.state.save_config("text_tools", {"module": "jsorc_examples.text_tools"})
    rt.state.save_placement(Placement(name="text_tools", mode=REMOTE, status=STARTING))

    placement = spawn_action(kube_rt, "text_tools")

    assert placement is not None and placement.status == READY
    assert placement.url == local_server
    assert "text_tools.word_count" in placement.spec
    assert deployments(emulator) and services(emulator)


def test_a_remote_load_fails_cleanly_while_the_api_server_is_unreachable(
    rt: Runtime, unreachable_backend: KubernetesBackend
) -> None:
    kube_rt = rt.with_backend(unreachable_backend)
    rt.state.save_config("text_tools", {"module": "jsorc_examples.text_tools"})
    rt.state.save_placement(Placement(name="text_tools", mode=REMOTE, status=STARTING))

    placement = spawn_action(kube_rt, "text_tools")

    assert placement is not None and placement.status == FAILED
    assert "did not answer" in placement.error
    assert rt.state.fetch_placement("text_tools") == placement


# make_backend


def kubeconfig_for(url: str, path: Path) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: emulator\n"
        f"clusters: [{{name: emulator, cluster: {{server: '{url}'}}}}]\n"
        "users: [{name: emulator, user: {}}]\n"
        "contexts: [{name: emulator, context: {cluster: emulator, user: emulator}}]\n"
    )
    return path


@pytest.mark.parametrize("in_cluster", [False, True], ids=["kubeconfig", "in-cluster-fallback"])
def test_make_backend_builds_the_kubernetes_backend_from_settings(
    emulator: ApiServerEmulator, tmp_path: Path, settings: Settings, in_cluster: bool
) -> None:
    kube_settings = dataclasses.replace(
        settings,
        backend="kubernetes",
        namespace="jsorc",
        image="jsorc:1.2.3",
        kubeconfig=str(kubeconfig_for(emulator.url, tmp_path / "kubeconfig")),
        kube_in_cluster=in_cluster,
    )

    backend = make_backend(kube_settings, state=None)  # type: ignore[arg-type]

    assert isinstance(backend, KubernetesBackend)
    assert (backend.namespace, backend.image) == ("jsorc", "jsorc:1.2.3")
    assert backend.client.host == emulator.url
    assert backend.names() == []
    assert [r.url.path for r in emulator.requests()] == [
        "/apis/apps/v1/namespaces/jsorc/deployments"
    ]


def test_make_backend_without_a_kubeconfig_says_what_to_set(
    tmp_path: Path, settings: Settings
) -> None:
    kube_settings = dataclasses.replace(
        settings, backend="kubernetes", kubeconfig=str(tmp_path / "missing")
    )

    with pytest.raises(SettingsError, match="JSORC_KUBECONFIG"):
        make_backend(kube_settings, state=None)  # type: ignore[arg-type]
