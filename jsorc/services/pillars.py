"""One pillar of the registry: every registration of a kind, by name, and who wins each name.

The winner of a name is its registration with the highest priority, ties to the newest.
Aliases are other spellings of one name; a name or alias that would mean two entries is
refused. Hazard: not thread-safe on its own; the registry holds its lock around every call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from jsorc.services.errors import NotRegistered, RegistrationConflict

SERVICE = "service"
REPOSITORY = "repository"
CONTEXT = "context"
PILLARS = (SERVICE, REPOSITORY, CONTEXT)


@dataclasses.dataclass(frozen=True)
class Registration:
    """One class registered under a name in one pillar."""

    name: str
    cls: type
    priority: int
    sequence: int  # order of registration in its registry; the newest wins a tie
    aliases: tuple[str, ...] = ()
    # Services only: None leaves `automated` to the class and its config.
    automated: bool | None = None
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    manifest: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # Contexts only: one instance, kept until it is destroyed.
    persistent: bool = False

    @property
    def rank(self) -> tuple[int, int]:
        return (self.priority, self.sequence)

    @property
    def implementation(self) -> str:
        return f"{self.cls.__module__}.{self.cls.__qualname__}"


class Pillar:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._by_name: dict[str, list[Registration]] = {}
        self._aliases: dict[str, str] = {}  # alias -> name

    def add(self, registration: Registration) -> bool:
        """Record `registration`; True when it now wins its name."""
        self._check_free(registration)
        self._by_name.setdefault(registration.name, []).append(registration)
        for alias in registration.aliases:
            if alias != registration.name:
                self._aliases[alias] = registration.name
        return self.winner(registration.name) is registration

    def resolve(self, name_or_alias: str) -> str:
        """The registered name that `name_or_alias` spells; NotRegistered if none."""
        if name_or_alias in self._by_name:
            return name_or_alias
        if name_or_alias in self._aliases:
            return self._aliases[name_or_alias]
        known = ", ".join(sorted(self._by_name)) or "none"
        raise NotRegistered(
            f"no {self.kind} is registered as {name_or_alias!r}; registered: {known}"
        )

    def winner(self, name: str) -> Registration:
        return max(self._by_name[self.resolve(name)], key=lambda r: r.rank)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def aliases_of(self, name: str) -> tuple[str, ...]:
        return tuple(sorted(alias for alias, owner in self._aliases.items() if owner == name))

    def reconfigure(
        self,
        name: str,
        *,
        config: Mapping[str, Any] | None = None,
        manifest: Mapping[str, Any] | None = None,
    ) -> None:
        """Give the winner of `name` a new config and/or manifest (None keeps the old)."""
        old = self.winner(name)
        new = dataclasses.replace(
            old,
            config=dict(old.config if config is None else config),
            manifest=dict(old.manifest if manifest is None else manifest),
        )
        entries = self._by_name[old.name]
        entries[entries.index(old)] = new

    def _check_free(self, registration: Registration) -> None:
        name = registration.name
        owner = self._aliases.get(name)
        if owner is not None:
            raise RegistrationConflict(
                f"{self.kind} name {name!r} is already an alias of {owner!r}"
            )
        for alias in registration.aliases:
            if alias != name and alias in self._by_name:
                raise RegistrationConflict(
                    f"alias {alias!r} of {self.kind} {name!r} is already a {self.kind} name"
                )
            owner = self._aliases.get(alias)
            if owner not in (None, name):
                raise RegistrationConflict(
                    f"alias {alias!r} of {self.kind} {name!r} already means {owner!r}"
                )
