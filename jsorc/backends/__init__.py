"""Cluster backends: where remote action servers run (`local` processes, `kubernetes`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jsorc.backends.base import ClusterBackend, fetch_spec

if TYPE_CHECKING:
    from jsorc.settings import Settings
    from jsorc.state import StateStore

__all__ = ["ClusterBackend", "fetch_spec", "make_backend"]


def make_backend(settings: Settings, state: StateStore) -> ClusterBackend:
    if settings.backend == "local":
        from jsorc.backends.local import LocalBackend

        return LocalBackend(state=state, home=settings.home)
    if settings.backend == "kubernetes":
        from jsorc.backends.kubernetes import KubernetesBackend
        from jsorc.kube.client import connect

        return KubernetesBackend(
            client=connect(settings),
            namespace=settings.namespace,
            image=settings.image,
            unsafe=settings.unsafe,
        )
    from jsorc.errors import SettingsError

    raise SettingsError(f"backend {settings.backend!r} is not available in this build")
