"""Errors of the service registry and the service lifecycle.

Every message names the service and says what to do next. A service's own failure (a
refused connection, a bad password) is kept as text on the service and quoted here; it is
never re-raised from a lookup.
"""

from __future__ import annotations

from jsorc.errors import BadRequest, JsorcError


class ServiceError(JsorcError):
    """A service, repository or context could not be registered, built or injected."""


class RegistrationConflict(ServiceError):
    """A name or alias is already taken by another entry of the same pillar."""


class NotRegistered(BadRequest):
    """Nothing is registered under this name or alias."""


class ServiceNotRunning(ServiceError):
    """A service was used while it is not running; says its state and its last error."""

    def __init__(
        self, name: str, *, state: str, error: str | None = None, enabled: bool = True
    ) -> None:
        self.name = name
        self.state = state
        self.error = error
        self.enabled = enabled
        super().__init__(self._message())

    def _message(self) -> str:
        if not self.enabled:
            return (
                f"service {self.name!r} is disabled by its config (enabled: false); it never runs"
            )
        head = f"service {self.name!r} is not running (state {self.state})"
        if self.error:
            return (
                f"{head}: {self.error}; regeneration retries it, or refresh it with "
                f"`jsorc service refresh {self.name}`"
            )
        if self.state == "STARTED":
            return f"{head}: it is still starting; try again shortly"
        return f"{head}: it has not been started"


def describe_error(exc: BaseException) -> str:
    """One line for an error kept on a service: its type and its message."""
    return f"{type(exc).__name__}: {exc}"
