"""Kept-alive services and the registry that names them (services, repositories, contexts).

`Service` is the lifecycle a concrete service (Redis, Prometheus, mail, ...) subclasses;
`Registry` builds services lazily and hands them out by name, alias or injection. Nothing
here talks to Redis, Celery or the cluster.
"""

from jsorc.services.daemons import DAEMON_STOP_TIMEOUT, Daemons
from jsorc.services.errors import (
    NotRegistered,
    RegistrationConflict,
    ServiceError,
    ServiceNotRunning,
)
from jsorc.services.lifecycle import Flags, Service, ServiceState
from jsorc.services.pillars import Registration
from jsorc.services.proxy import ServiceProxy
from jsorc.services.registry import Registry, ServiceInfo, default_registry

__all__ = [
    "DAEMON_STOP_TIMEOUT",
    "Daemons",
    "Flags",
    "NotRegistered",
    "Registration",
    "RegistrationConflict",
    "Registry",
    "Service",
    "ServiceError",
    "ServiceInfo",
    "ServiceNotRunning",
    "ServiceProxy",
    "ServiceState",
    "default_registry",
]
