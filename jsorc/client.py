"""A small Python client: what the CLI does, for application code.

`Client` talks to the API (configure, load, unload, status) and hands out a `Router`
that calls actions wherever they are placed. Errors from the API come back as the same
JsorcError kinds the server raised, with its message.
"""

from __future__ import annotations

import json
import time
from typing import Any

import urllib3

from jsorc.errors import (
    ActionNotLoaded,
    ActionNotReady,
    BadRequest,
    JsorcError,
    ModuleNotAllowed,
    NotAuthorized,
    StateUnavailable,
    UnknownAction,
)
from jsorc.router import Router
from jsorc.state import StateStore

_ERRORS = {
    400: BadRequest,
    401: NotAuthorized,
    403: ModuleNotAllowed,
    404: UnknownAction,
    409: ActionNotLoaded,
    422: BadRequest,
    503: StateUnavailable,
}
# Seconds an API request may take.
REQUEST_TIMEOUT = 30.0


class Client:
    def __init__(
        self,
        api_url: str,
        *,
        redis_url: str | None = None,
        allowed_modules: tuple[str, ...] = (),
        token: str = "",
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self.redis_url = redis_url
        self.allowed_modules = allowed_modules
        self._http = urllib3.PoolManager(
            retries=False, timeout=urllib3.Timeout(total=REQUEST_TIMEOUT)
        )

    def admin(self, endpoint: str, /, **body: Any) -> dict[str, Any]:
        """Call `POST /js_admin/<name>`; the reply's JSON, or the server's error raised."""
        try:
            response = self._http.request(
                "POST",
                f"{self.api_url}/js_admin/{endpoint}",
                body=json.dumps(body),
                headers=self._headers,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise StateUnavailable(f"JSORC API at {self.api_url} does not answer: {exc}") from exc
        try:
            reply = json.loads(response.data)
        except ValueError as exc:
            raise JsorcError(
                f"API answered {response.status} with a body that is not JSON"
            ) from exc
        if response.status >= 400 or not reply.get("success", False):
            kind = _ERRORS.get(response.status, JsorcError)
            raise kind(reply.get("error") or f"API answered {response.status}")
        return reply

    def health(self) -> dict[str, Any]:
        response = self._http.request("GET", f"{self.api_url}/health")
        return json.loads(response.data)

    def configure(self, name: str, config: str | dict[str, Any]) -> dict[str, Any]:
        return self.admin("jsorc_actions_config", name=name, config=config)["config"]

    def load(self, name: str, mode: str, *, keep_service: bool = False) -> dict[str, Any]:
        return self.admin("jsorc_actions_load", name=name, mode=mode, keep_service=keep_service)[
            "action_status"
        ]

    def unload(
        self, name: str, mode: str = "auto", *, keep_service: bool = False
    ) -> dict[str, Any]:
        return self.admin("jsorc_actions_unload", name=name, mode=mode, keep_service=keep_service)[
            "action_status"
        ]

    def status(self, name: str | None = None) -> dict[str, Any]:
        body = {} if name is None else {"name": name}
        return self.admin("jsorc_actions_status", **body)["action_status"]

    def config_get(self, name: str | None = None) -> dict[str, Any]:
        body = {} if name is None else {"name": name}
        return self.admin("config_get", **body)["config"]

    def config_set(self, name: str, value: Any) -> dict[str, Any]:
        return self.admin("config_set", name=name, value=value)["config"]

    def service_info(self, name: str) -> dict[str, Any]:
        return self.admin("service_info", name=name)["service"]

    def service_refresh(self, name: str) -> str:
        return self.admin("service_refresh", name=name)["message"]

    def actionpolicy_set(self, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.admin("jsorc_actionpolicy_set", name=name, params=params or {})["policy"]

    def actionpolicy_get(self) -> dict[str, Any]:
        return self.admin("jsorc_actionpolicy_get")["policy"]

    def measure(self, subject: str, verb: str, **body: Any) -> dict[str, Any]:
        """trackact, benchmark or tracksys: start, stop or report (stop and report give
        the report; `id=` picks a stored one)."""
        reply = self.admin(f"jsorc_{subject}_{verb}", **body)
        return reply.get("report", reply)

    def loadtest(self, app: str, **options: Any) -> int:
        """Queue a load test (duration, concurrency or rate, policy, shards); its id."""
        return self.admin("jsorc_loadtest", app=app, **options)["id"]

    def loadtest_status(self, test_id: int) -> dict[str, Any]:
        return self.admin("jsorc_loadtest_status", id=test_id)["loadtest"]

    def loadtest_report(self, test_id: int, *, html: bool = False) -> Any:
        reply = self.admin("jsorc_loadtest_report", id=test_id, format="html" if html else "json")
        return reply["html"] if html else reply["report"]

    def reports(self, kind: str | None = None) -> list[dict[str, Any]]:
        body = {} if kind is None else {"kind": kind}
        return self.admin("jsorc_reports_list", **body)["reports"]

    def wait_for(
        self, name: str, *, status: str | None = "READY", timeout: float = 120.0, poll: float = 0.2
    ) -> dict[str, Any]:
        """Poll until action `name` has `status` (None: until it has no placement)."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.status(name)
            if current["status"] == status:
                return current
            if status is not None and current["status"] == "FAILED":
                raise ActionNotReady(f"action {name!r} failed: {current['error']}")
            if time.monotonic() > deadline:
                raise ActionNotReady(f"action {name!r} is {current['status']} after {timeout:g}s")
            time.sleep(poll)

    def router(self, **options: Any) -> Router:
        """A router following this JSORC's placements (needs its Redis URL)."""
        if not self.redis_url:
            raise BadRequest("a router needs the JSORC Redis URL: Client(..., redis_url=...)")
        return Router(
            StateStore.from_url(self.redis_url), allowed_modules=self.allowed_modules, **options
        )
