"""Kubernetes failures in JSORC's own terms, translated where the client raises them.

Every call into the `kubernetes` client runs inside `translated()`, so callers handle one
small family under BackendError: not found, conflict, gone, invalid, forbidden, unavailable.
Not here: retrying; each caller decides whether a failure is final.
Hazard: a client-side timeout is reported as Unavailable, yet the request may have landed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import pydantic
import urllib3
from kubernetes.client.exceptions import ApiException, ApiValueError

from jsorc.errors import BackendError, BadRequest


class KubeError(BackendError):
    """The Kubernetes API refused or failed a request."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(KubeError):
    """The object (or its kind) is not there."""


class Conflict(KubeError):
    """An object of that name exists already, or changed under us."""


class Gone(KubeError):
    """A watch asked for history the API server no longer has (410): list again."""


class Invalid(KubeError):
    """The API server (or the client's schema) rejected the object as malformed."""


class Forbidden(KubeError):
    """JSORC's credentials may not do this; grant its service account the right."""


class Unavailable(KubeError):
    """The API server cannot be reached or did not answer in time; nothing was decided."""


class TimedOut(KubeError):
    """A bounded wait for the cluster to reach some state ran out."""


class ManifestError(BadRequest):
    """A manifest cannot be loaded, or its checks rejected it; nothing was applied."""


_BY_STATUS: dict[int, type[KubeError]] = {
    400: Invalid,
    401: Forbidden,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: Unavailable,
}


def from_api_exception(exc: ApiException, what: str) -> KubeError:
    status = int(exc.status or 0)
    cls = _BY_STATUS.get(status) or (Unavailable if status == 0 or status >= 500 else KubeError)
    return cls(f"{what}: {status} {exc.reason or ''}: {_message(exc)}".strip(), status=status)


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Run a client call; re-raise its failure as a KubeError whose message starts with `what`."""
    try:
        yield
    except ApiException as exc:
        raise from_api_exception(exc, what) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise Unavailable(
            f"{what}: the Kubernetes API server did not answer ({_reason(exc)})"
        ) from exc
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise Invalid(f"{what}: not a valid object: {problems}") from exc
    except ApiValueError as exc:
        raise Invalid(f"{what}: {exc}") from exc


def _message(exc: ApiException) -> str:
    """The `message` of the Status object the API server sent, else the raw body."""
    body = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else exc.body
    try:
        status = json.loads(body or "")
    except ValueError:
        return (body or "").strip()[:300]
    return str(status.get("message", "")) if isinstance(status, dict) else str(status)[:300]


def _reason(exc: urllib3.exceptions.HTTPError) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc)
