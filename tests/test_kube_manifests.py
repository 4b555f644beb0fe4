"""Manifests: placeholders, the checks that reject unsafe ones before anything is applied,
and the files the project ships (manifests/, docker-compose.yml, Dockerfile).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from jsorc.kube.checks import check_manifest, problems
from jsorc.kube.errors import ManifestError
from jsorc.kube.manifests import from_kinds, load, load_file
from tests.kube.samples import NAMESPACE, WIDGET_CRD, sample

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "manifests"
VALUES = {
    "namespace": NAMESPACE,
    "image": "jsorc:test",
    "name": "text_tools",
    "server": "jsorc-action-text-tools",
    "module": "jsorc_examples.text_tools",
    "loaded_module": "jsorc_examples.text_tools",
}


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]


def found(objects: list[dict[str, Any]], *, unsafe: bool = False) -> list[str]:
    return problems(objects, namespace=NAMESPACE, unsafe=unsafe)


# Placeholders


def test_placeholders_are_filled_in_strings_and_nothing_else_is_touched() -> None:
    text = """
apiVersion: v1
kind: ConfigMap
metadata: {name: "${name}-settings", namespace: "${namespace}"}
data:
  "${name}.conf": |
    target: svc.${namespace}:80
    relabel: /nodes/$1/proxy
    env: $(POSTGRES_PASSWORD)
    literal: $${not_a_placeholder}
  replicas: 3
"""
    [obj] = load(text, values={"name": "web", "namespace": "prod"}, source="test")

    assert obj["metadata"] == {"name": "web-settings", "namespace": "prod"}
    assert obj["data"] == {
        "web.conf": (
            "target: svc.prod:80\nrelabel: /nodes/$1/proxy\nenv: $(POSTGRES_PASSWORD)\n"
            "literal: ${not_a_placeholder}\n"
        ),
        "replicas": 3,
    }


def test_a_value_cannot_change_the_structure_of_a_manifest() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {who: '${name}'}\n"
    sneaky = "x\nkind: Secret\n---\napiVersion: v1"

    [obj] = load(text, values={"name": sneaky}, source="test")

    assert obj["kind"] == "ConfigMap"
    assert obj["data"] == {"who": sneaky}


def test_a_placeholder_without_a_value_is_named_in_the_error() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '${nmae}'}\n"

    with pytest.raises(ManifestError, match=r"uses \$\{nmae\}.*known placeholders: \$\{name\}"):
        load(text, values={"name": "web"}, source="settings.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "is a list, not a Kubernetes object"),
    ],
)
def test_a_file_that_is_not_a_manifest_says_so(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        load(text, values={}, source="broken.yaml")


def test_a_missing_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read manifest .*absent.yaml"):
        load_file(tmp_path / "absent.yaml", values={})


def test_objects_by_kind_as_jaseci_gives_them() -> None:
    remote = {
        "Service": {"metadata": {"name": "${server}"}, "spec": {"ports": [{"port": 80}]}},
        "Deployment": [sample("Deployment", "a"), sample("Deployment", "b")],
    }

    objects = from_kinds(remote, values=VALUES, source="config")

    assert [(o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("v1", "Service", "jsorc-action-text-tools"),
        ("apps/v1", "Deployment", "a"),
        ("apps/v1", "Deployment", "b"),
    ]
    with pytest.raises(ManifestError, match="says kind 'Service'; use 'Deployment'"):
        from_kinds({"Deployment": sample("Service", "x")}, values=VALUES, source="config")


# Checks


def test_a_safe_manifest_of_every_kind_passes() -> None:
    objects = [sample(kind, "example") for kind in ("ConfigMap", "Secret", "Service")]
    objects += [sample(kind, "example") for kind in ("Deployment", "StatefulSet", "DaemonSet")]
    objects += [sample("ClusterRole", "reader"), sample("ClusterRoleBinding", "reader")]
    objects += [sample("PersistentVolumeClaim", "data"), copy.deepcopy(WIDGET_CRD)]
    objects += [sample("Widget", "w"), sample("Namespace", NAMESPACE)]

    assert found(objects) == []


def privileged(spec: dict[str, Any]) -> None:
    spec["containers"][0]["securityContext"] = {"privileged": True}


def privileged_init(spec: dict[str, Any]) -> None:
    spec["initContainers"] = [
        {"name": "setup", "image": "busybox", "securityContext": {"privileged": True}}
    ]


def host_path(spec: dict[str, Any]) -> None:
    spec["volumes"] = [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]


def sys_admin(spec: dict[str, Any]) -> None:
    spec["containers"][0]["securityContext"] = {"capabilities": {"add": ["SYS_ADMIN"]}}


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet"])
@pytest.mark.parametrize(
    ("make_unsafe", "expected"),
    [
        (privileged, "container 'main' is privileged"),
        (privileged_init, "container 'setup' is privileged"),
        (host_path, "volume 'docker' mounts a path of the node (hostPath)"),
        (lambda spec: spec.update(hostNetwork=True), "hostNetwork shares the node's network"),
        (lambda spec: spec.update(hostPID=True), "hostPID sees the node's processes"),
        (lambda spec: spec.update(hostIPC=True), "hostIPC shares the node's IPC"),
        (sys_admin, "container 'main' adds ['SYS_ADMIN']"),
    ],
)
def test_unsafe_pods_are_rejected_unless_jsorc_runs_unsafe(
    kind: str, make_unsafe: Any, expected: str
) -> None:
    obj = sample(kind, "web")
    make_unsafe(pod_spec(obj))

    [problem] = found([obj])

    assert problem.startswith(f"{kind} web: ")
    assert expected in problem
    assert "JSORC_UNSAFE=1" in problem
    assert found([obj], unsafe=True) == []


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}},
            "Pod p: kind 'Pod' (v1) is not allowed",
        ),
        (
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}},
            "Job j: kind 'Job' (batch/v1) is not allowed",
        ),
        (
            sample("Widget", "w"),
            "Widget w: kind 'Widget' (example.com/v1) is not allowed",
        ),
        (
            {**sample("Deployment", "d"), "apiVersion": "extensions/v1beta1"},
            "Deployment d: Deployment is served at apiVersion 'apps/v1', not 'extensions/v1beta1'",
        ),
        ({"metadata": {"name": "x"}}, "object x: needs both apiVersion and kind"),
    ],
    ids=["pod", "job", "custom-without-definition", "old-api-version", "no-kind"],
)
def test_kinds_jsorc_does_not_apply_are_rejected(obj: dict[str, Any], expected: str) -> None:
    [problem] = found([obj])

    assert problem.startswith(expected)


def in_other_namespace() -> dict[str, Any]:
    obj = sample("ConfigMap", "settings")
    obj["metadata"]["namespace"] = "kube-system"
    return obj


def binding_to(subject: dict[str, Any]) -> dict[str, Any]:
    obj = sample("ClusterRoleBinding", "admin")
    obj["subjects"] = [subject]
    return obj


@pytest.mark.parametrize(
    ("obj", "expected", "unsafe_allows"),
    [
        (
            in_other_namespace(),
            "ConfigMap settings: namespace 'kube-system' is outside JSORC's namespace 'jsorc'",
            False,
        ),
        (
            sample("Namespace", "default"),
            "Namespace default: the only namespace a manifest may declare is JSORC's own",
            False,
        ),
        (
            binding_to({"kind": "ServiceAccount", "name": "x", "namespace": "kube-system"}),
            "ClusterRoleBinding admin: grants rights to ServiceAccount kube-system/x, outside",
            False,
        ),
        (
            binding_to({"kind": "Group", "name": "system:authenticated"}),
            "ClusterRoleBinding admin: grants rights to Group 'system:authenticated'",
            True,
        ),
    ],
    ids=["object", "namespace", "service-account", "group"],
)
def test_everything_stays_in_jsorcs_namespace(
    obj: dict[str, Any], expected: str, unsafe_allows: bool
) -> None:
    [problem] = found([obj])

    assert problem.startswith(expected)
    assert (found([obj], unsafe=True) == []) is unsafe_allows


@pytest.mark.parametrize(
    ("kind", "name"),
    [("ConfigMap", "Settings"), ("Service", "web.front"), ("Deployment", "under_score")],
)
def test_invalid_names_are_rejected(kind: str, name: str) -> None:
    [problem] = found([sample(kind, name)])

    assert problem.startswith(f"{kind} {name}: {name!r} is not a valid {kind} name")


def test_every_problem_is_reported_at_once_and_nothing_applied() -> None:
    bad = sample("Deployment", "web")
    pod_spec(bad)["hostNetwork"] = True
    privileged(pod_spec(bad))
    twice = [sample("ConfigMap", "settings"), sample("ConfigMap", "settings")]

    with pytest.raises(ManifestError) as caught:
        check_manifest([bad, *twice, in_other_namespace()], namespace=NAMESPACE, unsafe=False)

    assert str(caught.value).splitlines() == [
        "the manifest was rejected, nothing was applied:",
        "  - Deployment web: spec.template.spec.hostNetwork shares the node's network; "
        "remove it (or set JSORC_UNSAFE=1 if you really mean it)",
        "  - Deployment web: container 'main' is privileged; remove "
        "securityContext.privileged (or set JSORC_UNSAFE=1 if you really mean it)",
        "  - ConfigMap settings: declared twice; give one of them another name",
        "  - ConfigMap settings: namespace 'kube-system' is outside JSORC's namespace "
        "'jsorc'; drop metadata.namespace or set it to 'jsorc'",
    ]


# What the project ships


def shipped() -> list[Path]:
    """The Kubernetes manifests (manifests/local/ holds the local backend's own kind)."""
    return sorted([*MANIFESTS.glob("*.yaml"), *(MANIFESTS / "services").glob("*.yaml")])


def test_the_project_ships_the_stack_the_template_and_the_kept_alive_services() -> None:
    names = {str(path.relative_to(MANIFESTS)) for path in shipped()}

    assert names == {
        "action-server.yaml",
        "stack.yaml",
        "services/redis.yaml",
        "services/database.yaml",
        "services/prometheus.yaml",
        "services/mail.yaml",
    }


@pytest.mark.parametrize("path", shipped(), ids=lambda path: str(path.relative_to(MANIFESTS)))
def test_each_shipped_manifest_loads_and_passes_the_checks(path: Path) -> None:
    objects = load_file(path, values=VALUES)

    assert objects
    check_manifest(objects, namespace=NAMESPACE, unsafe=False, source=str(path))


def load_shipped(name: str) -> dict[tuple[str, str], dict[str, Any]]:
    objects = load_file(MANIFESTS / name, values=VALUES)
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}


def test_the_stack_runs_worker_beat_api_and_flower_from_the_jsorc_image() -> None:
    stack = load_shipped("stack.yaml")
    deployments = {name: obj for (kind, name), obj in stack.items() if kind == "Deployment"}

    assert set(deployments) == {"jsorc-worker", "jsorc-beat", "jsorc-api", "jsorc-flower"}
    for deployment in deployments.values():
        assert pod_spec(deployment)["containers"][0]["image"] == "jsorc:test"
    flower_env = pod_spec(deployments["jsorc-flower"])["containers"][0]["env"]
    auth = next(e for e in flower_env if e["name"] == "FLOWER_BASIC_AUTH")
    assert auth["valueFrom"]["secretKeyRef"] == {
        "name": "jsorc-secrets",
        "key": "flower-basic-auth",
    }
    settings = stack[("ConfigMap", "jsorc-settings")]["data"]
    assert settings["JSORC_BACKEND"] == "kubernetes"
    assert settings["JSORC_NAMESPACE"] == NAMESPACE


def test_prometheus_scrapes_the_api_and_flower_metrics() -> None:
    prometheus = load_shipped("services/prometheus.yaml")
    config = yaml.safe_load(prometheus[("ConfigMap", "jsorc-prometheus")]["data"]["prometheus.yml"])
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    assert jobs["jsorc-api"]["metrics_path"] == "/metrics"
    assert jobs["jsorc-api"]["static_configs"] == [{"targets": ["jsorc-api.jsorc.svc:8716"]}]
    assert jobs["flower"]["metrics_path"] == "/metrics"
    assert jobs["flower"]["static_configs"] == [{"targets": ["jsorc-flower.jsorc.svc:5555"]}]
    cadvisor_path = jobs["cadvisor"]["relabel_configs"][1]["replacement"]
    assert cadvisor_path == "/api/v1/nodes/$1/proxy/metrics/cadvisor"


def test_the_database_keeps_its_data_on_a_volume_claim() -> None:
    postgres = load_shipped("services/database.yaml")
    volumes = pod_spec(postgres[("StatefulSet", "jsorc-postgres")])["volumes"]

    assert ("PersistentVolumeClaim", "jsorc-postgres-data") in postgres
    assert volumes == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "jsorc-postgres-data"}}
    ]


def test_the_action_template_serves_the_action_on_port_80_of_its_service() -> None:
    template = load_shipped("action-server.yaml")
    deployment = template[("Deployment", "jsorc-action-text-tools")]
    service = template[("Service", "jsorc-action-text-tools")]
    container = pod_spec(deployment)["containers"][0]

    assert container["command"][:3] == ["python", "-m", "jsorc.server"]
    assert container["command"][3:9] == [
        "--name", "text_tools", "--module", "jsorc_examples.text_tools",
        "--loaded-module", "jsorc_examples.text_tools",
    ]  # fmt: skip
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
    assert pod_spec(deployment)["securityContext"]["runAsNonRoot"] is True


def test_the_compose_file_runs_the_full_stack_without_secrets_in_it() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    assert set(services) == {"redis", "postgres", "worker", "beat", "api", "flower", "prometheus"}
    flower = services["flower"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )
    database_url = services["worker"]["environment"]["JSORC_DATABASE_URL"]
    assert "${POSTGRES_PASSWORD:?" in database_url
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert published and all(port.startswith("127.0.0.1:") for port in published)
    assert "--events" in services["worker"]["command"]
    scrape = yaml.safe_load(compose["configs"]["prometheus"]["content"])
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in scrape["scrape_configs"]
    }
    assert targets == {"jsorc-api": ["api:8716"], "flower": ["flower:5555"]}


def test_the_image_runs_as_a_numbered_user_and_carries_the_manifests() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()

    assert "USER 1000" in lines
    assert "COPY manifests ./manifests" in lines
