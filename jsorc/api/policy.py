"""Admin endpoints for the placement policy: jsorc_actionpolicy_set and _get."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from jsorc.api.models import Body
from jsorc.policies.engine import get_policy, set_policy
from jsorc.runtime import Runtime


class PolicySetBody(Body):
    name: str = Field(min_length=1, max_length=50, description="default, evaluation or adaptive")
    params: dict[str, Any] = Field(default_factory=dict)


def policy_routes(rt: Runtime) -> APIRouter:
    routes = APIRouter(prefix="/js_admin", tags=["policy"])

    @routes.post("/jsorc_actionpolicy_set")
    def actionpolicy_set(body: PolicySetBody) -> dict[str, Any]:
        policy = set_policy(rt, body.name, body.params)
        return {"success": True, "message": f"policy {body.name} in force", "policy": policy}

    @routes.post("/jsorc_actionpolicy_get")
    def actionpolicy_get() -> dict[str, Any]:
        return {"success": True, "policy": get_policy(rt)}

    return routes
