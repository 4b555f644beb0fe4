"""The connection to one Kubernetes API server: an ApiClient plus the timeouts every call uses.

`connect` builds it from JSORC's settings (in-cluster config first when asked, else a
kubeconfig); `client_for` from a bare URL (an emulator in tests, or `kubectl proxy`).
Not here: making calls. Hazard: loading a kubeconfig reads files but touches no network,
so a wrong server shows up only at the first call, as Unavailable.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from jsorc.errors import SettingsError

if TYPE_CHECKING:
    from jsorc.settings import Settings

logger = logging.getLogger(__name__)

# Seconds to open a connection to the API server.
CONNECT_TIMEOUT = 5.0
# Seconds to wait for an answer to a single request.
READ_TIMEOUT = 30.0
# Times a request is re-sent after its connection could not be opened (never after sending).
CONNECT_RETRIES = 2
# Seconds between those retries grow from this.
RETRY_BACKOFF = 0.2


@dataclasses.dataclass
class KubeClient:
    api: k8s.ApiClient
    # (connect, read) seconds, passed as `_request_timeout` on every call.
    timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)
    _typed: dict[type, Any] = dataclasses.field(default_factory=dict, repr=False)

    @property
    def host(self) -> str:
        return str(self.api.configuration.host)

    def typed(self, api_class: type) -> Any:
        """One instance of a typed API class (CoreV1Api, AppsV1Api, ...) per client."""
        if api_class not in self._typed:
            self._typed[api_class] = api_class(self.api)
        return self._typed[api_class]

    def close(self) -> None:
        self.api.close()


def connect(settings: Settings, *, timeout: tuple[float, float] | None = None) -> KubeClient:
    """A client configured as the settings say; SettingsError when no config can be loaded."""
    configuration = k8s.Configuration()
    try:
        if settings.kube_in_cluster and _load_in_cluster(configuration):
            logger.debug("Using the in-cluster Kubernetes config.")
        else:
            k8s_config.load_kube_config(
                config_file=settings.kubeconfig or None, client_configuration=configuration
            )
    except (ConfigException, OSError) as exc:
        where = settings.kubeconfig or "the default kubeconfig (~/.kube/config)"
        raise SettingsError(
            f"cannot load a Kubernetes config from {where}: {exc}; set JSORC_KUBECONFIG "
            "to a readable kubeconfig, or JSORC_KUBE_IN_CLUSTER=1 inside a cluster"
        ) from exc
    return _client(configuration, timeout)


def client_for(host: str, *, timeout: tuple[float, float] | None = None) -> KubeClient:
    """A client for an API server at a plain URL, without credentials."""
    configuration = k8s.Configuration(host=host)
    return _client(configuration, timeout)


def _load_in_cluster(configuration: k8s.Configuration) -> bool:
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except ConfigException as exc:
        logger.warning("No in-cluster Kubernetes config (%s); trying a kubeconfig.", exc)
        return False
    return True


def _client(configuration: k8s.Configuration, timeout: tuple[float, float] | None) -> KubeClient:
    configuration.retries = urllib3.Retry(
        total=CONNECT_RETRIES,
        connect=CONNECT_RETRIES,
        read=0,
        status=0,
        other=0,
        backoff_factor=RETRY_BACKOFF,
        allowed_methods=None,
        raise_on_status=False,
    )
    return KubeClient(
        api=k8s.ApiClient(configuration), timeout=timeout or (CONNECT_TIMEOUT, READ_TIMEOUT)
    )
