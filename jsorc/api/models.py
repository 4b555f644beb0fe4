"""Request bodies of the admin API. Unknown fields are refused, so a typo is an error."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ActionName = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConfigBody(Body):
    name: str = ActionName
    config: str | dict[str, Any] = Field(
        description="A module path exposing ACTION_CONFIGS, or the config object itself"
    )


class LoadBody(Body):
    name: str = ActionName
    mode: str = Field(description="module or remote")
    keep_service: bool = False


class UnloadBody(Body):
    name: str = ActionName
    mode: str = "auto"
    keep_service: bool = False


class StatusBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)


class ConfigGetBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)


class ConfigSetBody(Body):
    name: str = Field(min_length=1, max_length=100)
    value: Any = Field(description="The new value, as JSON or a string holding JSON")


class ServiceBody(Body):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
