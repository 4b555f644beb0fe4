"""Admin endpoints for actions: jsorc_actions_config, _load, _unload and _status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from jsorc import admin
from jsorc.admin import Dispatch
from jsorc.api.models import ConfigBody, LoadBody, StatusBody, UnloadBody
from jsorc.runtime import Runtime


def action_routes(rt: Runtime, dispatcher: Callable[[], Dispatch]) -> APIRouter:
    routes = APIRouter(prefix="/js_admin", tags=["actions"])

    @routes.post("/jsorc_actions_config")
    def actions_config(body: ConfigBody) -> dict[str, Any]:
        config = admin.configure(rt, body.name, body.config)
        return {
            "success": True,
            "message": f"config of {body.name!r} registered",
            "config": config.to_dict(),
        }

    @routes.post("/jsorc_actions_load")
    def actions_load(body: LoadBody) -> dict[str, Any]:
        placement = admin.load(
            rt, body.name, body.mode, dispatch=dispatcher(), keep_service=body.keep_service
        )
        return {
            "success": True,
            "message": f"{body.name!r} loading as {body.mode}",
            "action_status": placement.to_json(),
        }

    @routes.post("/jsorc_actions_unload")
    def actions_unload(body: UnloadBody) -> dict[str, Any]:
        placement = admin.unload(
            rt, body.name, body.mode, dispatch=dispatcher(), keep_service=body.keep_service
        )
        return {
            "success": True,
            "message": f"{body.name!r} unloading",
            "action_status": placement.to_json(),
        }

    @routes.post("/jsorc_actions_status")
    def actions_status(body: StatusBody | None = None) -> dict[str, Any]:
        name = body.name if body is not None else None
        return {"success": True, "action_status": admin.status(rt, name)}

    return routes
