"""Admin endpoints for JSORC's own settings: config_get and config_set."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from jsorc.api.models import ConfigGetBody, ConfigSetBody
from jsorc.configuration import get_config, set_config
from jsorc.runtime import Runtime


def config_routes(rt: Runtime) -> APIRouter:
    routes = APIRouter(prefix="/js_admin", tags=["settings"])

    @routes.post("/config_get")
    def config_get(body: ConfigGetBody | None = None) -> dict[str, Any]:
        name = body.name if body is not None else None
        return {"success": True, "config": get_config(rt, name)}

    @routes.post("/config_set")
    def config_set(body: ConfigSetBody) -> dict[str, Any]:
        return {
            "success": True,
            "message": f"{body.name} set",
            "config": set_config(rt, body.name, body.value),
        }

    return routes
