"""The project's own error hierarchy.

Errors from redis, HTTP and the cluster are translated into these where they enter, so
callers handle one family. Each message says what went wrong and what to do about it.
"""


class JsorcError(Exception):
    """Root of every error JSORC raises on purpose."""


class BadRequest(JsorcError):
    """The caller asked for something malformed: fix the request and retry."""


class UnknownAction(BadRequest):
    """No config is registered under this action name."""


class ConfigError(BadRequest):
    """An action config is missing, malformed or names a module that cannot be found."""


class ModuleNotAllowed(ConfigError):
    """The module is outside the allow-listed prefixes; it was not imported."""


class ActionNotLoaded(JsorcError):
    """A call was made to an action that has no placement."""


class ActionNotReady(JsorcError):
    """A remote action is still starting, or its server does not answer."""


class ActionCallError(JsorcError):
    """The action ran and raised, or its server answered with an error."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BackendError(JsorcError):
    """The cluster backend could not start, find or stop an action server."""


class SettingsError(JsorcError):
    """A setting has a value JSORC cannot use."""


class StateUnavailable(JsorcError):
    """The Redis state store cannot be reached; nothing was changed."""


class NotAuthorized(JsorcError):
    """The API refused the call: no bearer token, or not the right one."""
