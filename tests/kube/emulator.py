"""An HTTP-level emulator of the Kubernetes API server for tests: kmock in a thread.

kmock is asyncio; the official client is blocking. So the emulator runs on its own event
loop in a daemon thread, and the code under test talks to it over real HTTP on 127.0.0.1.
It runs no controllers: a Deployment becomes available only when a test says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import kmock

# Seconds the emulator has to start or stop, and a helper has to see a condition.
EMULATOR_WAIT = 10.0
# Seconds between looks while a helper waits for a condition in the emulator.
LOOK_INTERVAL = 0.01

# Every resource the backend may touch, as kmock's discovery should serve it.
RESOURCES = {
    "v1/namespaces": ("Namespace", False),
    "v1/services": ("Service", True),
    "v1/configmaps": ("ConfigMap", True),
    "v1/secrets": ("Secret", True),
    "v1/serviceaccounts": ("ServiceAccount", True),
    "v1/persistentvolumeclaims": ("PersistentVolumeClaim", True),
    "apps/v1/deployments": ("Deployment", True),
    "apps/v1/daemonsets": ("DaemonSet", True),
    "apps/v1/statefulsets": ("StatefulSet", True),
    "rbac.authorization.k8s.io/v1/clusterroles": ("ClusterRole", False),
    "rbac.authorization.k8s.io/v1/clusterrolebindings": ("ClusterRoleBinding", False),
    "rbac.authorization.k8s.io/v1/roles": ("Role", True),
    "rbac.authorization.k8s.io/v1/rolebindings": ("RoleBinding", True),
    "apiextensions.k8s.io/v1/customresourcedefinitions": ("CustomResourceDefinition", False),
}


class ApiServerEmulator:
    """kmock's KubernetesEmulator served on 127.0.0.1 from a private event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.handler: kmock.KubernetesEmulator | None = None
        self._stack = contextlib.AsyncExitStack()
        self.url = ""

    def start(self) -> ApiServerEmulator:
        self.thread.start()
        self._run(self._enter())
        return self

    def stop(self) -> None:
        self._run(self._stack.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(EMULATOR_WAIT)
        self.loop.close()

    async def _enter(self) -> None:
        handler = kmock.KubernetesEmulator()
        for resource, (kind, namespaced) in RESOURCES.items():
            handler.resources[resource] = kmock.ResourceInfo(kind=kind, namespaced=namespaced)
        await self._stack.enter_async_context(handler)
        server = await self._stack.enter_async_context(kmock.Server(handler))
        self.handler = handler
        self.url = str(server.url).rstrip("/")

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(EMULATOR_WAIT)

    def call(self, fn: Callable[[kmock.KubernetesEmulator], Any]) -> Any:
        """Run `fn(handler)` on the emulator's loop, between two requests."""

        async def run() -> Any:
            return fn(self.handler)

        return self._run(run())

    # Reading and changing stored objects, as a controller or a test would.

    def get(self, resource: str, namespace: str | None, name: str) -> dict | None:
        def read(handler: kmock.KubernetesEmulator) -> dict | None:
            # `in` wants the parsed resource; indexing would parse a string itself.
            key = (kmock.resource(resource), namespace, name)
            if key not in handler.objects or handler.objects[key].deleted:
                return None
            return handler.objects[key].raw

        return self.call(read)

    def names(self, resource: str, namespace: str | None = None) -> set[str]:
        def read(handler: kmock.KubernetesEmulator) -> set[str]:
            return {
                name
                for (res, ns, name), obj in handler.objects.items()
                if res == kmock.resource(resource) and ns == namespace and not obj.deleted
            }

        return self.call(read)

    def put(self, resource: str, namespace: str | None, name: str, obj: dict) -> None:
        def write(handler: kmock.KubernetesEmulator) -> None:
            handler.objects[resource, namespace, name] = obj

        self.call(write)

    def requests(self) -> list[kmock.Request]:
        return self.call(list)

    def writes(self) -> list[tuple[str, str]]:
        """(method, path) of every request that could change something."""
        return [
            (request.method.value, request.url.path)
            for request in self.requests()
            if request.method.value in ("POST", "PATCH", "PUT", "DELETE")
        ]

    def watchers(self, resource: str) -> int:
        """Open watch streams on `resource` (kmock keeps them on a per-resource bus)."""
        return self.call(lambda handler: handler._buses[kmock.resource(resource)].consumer_count)

    def react(self, install: Callable[[kmock.KubernetesEmulator], Any]) -> None:
        """Add a reaction, e.g. `lambda h: h["watch v1/pods"][:1] << 410`."""
        self.call(install)

    def make_deployments_available(self) -> None:
        """Act as the Deployment controller would: every created Deployment is available."""

        def available(request: kmock.Request) -> dict:
            key = (request.resource, request.namespace, request.data["metadata"]["name"])
            replicas = request.data.get("spec", {}).get("replicas", 1)
            self.handler.objects[key].patch({"status": {"availableReplicas": replicas}})
            return self.handler.objects[key].raw

        self.react(
            lambda h: h[kmock.action.CREATE, kmock.resource("apps/v1/deployments")] << available
        )

    def wait_for(self, condition: Callable[[], Any], what: str) -> Any:
        """Wait until `condition()` is truthy; a test helper, not an assertion."""
        deadline = time.monotonic() + EMULATOR_WAIT
        while not (result := condition()):
            if time.monotonic() > deadline:
                raise AssertionError(f"the emulator never saw {what}")
            time.sleep(LOOK_INTERVAL)
        return result


@contextlib.contextmanager
def running_emulator() -> Iterator[ApiServerEmulator]:
    emulator = ApiServerEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()
