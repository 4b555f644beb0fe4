"""Admin endpoints for kept-alive services: service_info and service_refresh."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from jsorc.admin import Dispatch
from jsorc.api.models import ServiceBody
from jsorc.keepalive.watch import check_name, public_config, service_config
from jsorc.runtime import Runtime

# Service events shown by service_info, newest last.
HISTORY_SHOWN = 20


def service_routes(rt: Runtime, dispatcher: Callable[[], Dispatch]) -> APIRouter:
    routes = APIRouter(prefix="/js_admin", tags=["services"])

    @routes.post("/service_info")
    def service_info(body: ServiceBody) -> dict[str, Any]:
        check_name(body.name)
        health = rt.state.fetch_service_health(body.name)
        return {
            "success": True,
            "service": {
                "name": body.name,
                "watched": body.name in rt.refresh_settings().keep_alive,
                "health": health,
                "config": public_config(service_config(rt, body.name)),
                "history": rt.db.service_history(body.name)[-HISTORY_SHOWN:],
            },
        }

    @routes.post("/service_refresh")
    def service_refresh(body: ServiceBody) -> dict[str, Any]:
        check_name(body.name)
        dispatcher().refresh_service(body.name)
        return {"success": True, "message": f"refresh of service {body.name!r} queued"}

    return routes
