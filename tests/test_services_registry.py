"""The registry's three pillars: priorities and ties, aliases, lazy services and their proxies,
repositories new each time, persistent contexts, injection, and what regeneration reads
(`services()`, `start()`, `refresh()`). Pure Python: no Redis, no Celery.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from jsorc.errors import BadRequest
from jsorc.services import (
    NotRegistered,
    RegistrationConflict,
    Registry,
    Service,
    ServiceError,
    ServiceNotRunning,
    ServiceProxy,
    ServiceState,
    default_registry,
)

# Seconds any test waits for its threads before failing.
WAIT = 5.0


class Probe(Service[str]):
    """Counts what happens to every instance of its class; `down` makes run() fail."""

    built: list[Probe]
    events: list[str]
    down: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.built, cls.events = [], []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        type(self).built.append(self)

    def run(self) -> None:
        type(self).events.append(f"run:{self.name}")
        if type(self).down:
            raise ConnectionError("refused by 127.0.0.1:6390")
        self.app = f"{type(self).__name__}-client"

    def on_delete(self) -> None:
        type(self).events.append(f"delete:{self.name}")

    def ping(self) -> str:
        return f"pong from {type(self).__name__}"


def probe(label: str, **attrs: Any) -> type[Probe]:
    """A fresh Probe subclass with its own counters."""
    return type(label, (Probe,), dict(attrs))


@pytest.fixture
def registry() -> Iterator[Registry]:
    reg = Registry()
    yield reg
    reg.shutdown()


# Services: lazy, cached, prioritised.


def test_a_service_is_built_on_first_lookup_and_cached(registry: Registry) -> None:
    Redis = probe("Redis")
    registry.register_service("redis", Redis, config={"port": 6390}, manifest={"kind": "x"})
    assert Redis.built == []

    first = registry.service("redis")
    second = registry.service("redis")

    assert first is second
    assert len(Redis.built) == 1
    assert Redis.events == ["run:redis"]
    assert first.name == "redis"
    assert first.config == {"port": 6390}
    assert first.manifest == {"kind": "x"}
    assert first.poke() == "Redis-client"


def test_equal_priority_goes_to_the_newest_registration(registry: Registry) -> None:
    Old, New = probe("Old"), probe("New")
    registry.register_service("redis", Old)
    registry.register_service("redis", New)
    assert registry.service("redis").ping() == "pong from New"
    assert Old.built == []


def test_a_higher_priority_registered_earlier_still_wins(registry: Registry) -> None:
    High, Low = probe("High"), probe("Low")
    registry.register_service("redis", High, priority=5)
    registry.register_service("redis", Low, priority=1)
    assert registry.service("redis").ping() == "pong from High"
    assert registry.info("redis").priority == 5


def test_a_new_winner_replaces_a_built_service(registry: Registry) -> None:
    Real, Fake = probe("Real"), probe("Fake")
    registry.register_service("redis", Real)
    registry.service("redis")

    registry.register_service("redis", Fake, priority=1)

    assert Real.events == ["run:redis", "delete:redis"]
    assert registry.service("redis").ping() == "pong from Fake"


def test_a_losing_registration_keeps_the_built_service(registry: Registry) -> None:
    Real, Lesser = probe("Real"), probe("Lesser")
    registry.register_service("redis", Real, priority=3)
    built = registry.service("redis")
    registry.register_service("redis", Lesser, priority=2)
    assert registry.service("redis") is built
    assert Real.events == ["run:redis"]


def test_only_service_subclasses_register_as_services(registry: Registry) -> None:
    with pytest.raises(ServiceError, match="must be a Service subclass"):
        registry.register_service("redis", dict)  # type: ignore[type-var]


# Aliases and unknown names.


def test_an_alias_finds_the_same_service(registry: Registry) -> None:
    Redis = probe("Redis")
    registry.register_service("redis", Redis, aliases=["cache", "broker"])
    assert registry.service("cache") is registry.service("redis")
    assert registry.service("broker") is registry.service("redis")
    assert len(Redis.built) == 1
    assert registry.info("cache").aliases == ("broker", "cache")


def test_aliases_that_would_mean_two_entries_are_refused(registry: Registry) -> None:
    registry.register_service("redis", probe("Redis"), aliases=["cache"])
    registry.register_service("mail", probe("Mail"))
    with pytest.raises(RegistrationConflict, match="'cache' is already an alias of 'redis'"):
        registry.register_service("cache", probe("Cache"))
    with pytest.raises(RegistrationConflict, match="alias 'mail' of service 'db'"):
        registry.register_service("db", probe("Db"), aliases=["mail"])
    with pytest.raises(RegistrationConflict, match="already means 'redis'"):
        registry.register_service("db", probe("Db"), aliases=["cache"])


def test_an_alias_in_one_pillar_is_free_in_another(registry: Registry) -> None:
    registry.register_service("redis", probe("Redis"), aliases=["store"])
    registry.register_repository("store", dict)
    assert registry.repository("store") == {}


def test_an_unknown_name_is_a_bad_request_listing_what_is_registered(registry: Registry) -> None:
    registry.register_service("redis", probe("Redis"))
    registry.register_service("mail", probe("Mail"))
    with pytest.raises(NotRegistered) as caught:
        registry.service("prometheus")
    assert isinstance(caught.value, BadRequest)
    assert str(caught.value) == "no service is registered as 'prometheus'; registered: mail, redis"
    with pytest.raises(NotRegistered, match="no repository .* registered: none"):
        registry.repository("configs")


# The proxy for a service that is not running.


def test_a_failing_service_is_handed_out_as_a_proxy_until_it_runs(registry: Registry) -> None:
    Redis = probe("Redis", down=True)
    registry.register_service("redis", Redis)

    proxy = registry.service("redis")

    assert isinstance(proxy, ServiceProxy)
    with pytest.raises(ServiceNotRunning) as caught:
        proxy.ping()
    assert "service 'redis' is not running (state FAILED)" in str(caught.value)
    assert "ConnectionError: refused by 127.0.0.1:6390" in str(caught.value)
    assert proxy.state is ServiceState.FAILED
    assert proxy.is_running() is False
    assert registry.service("redis") is not proxy  # a new proxy per lookup, same service
    assert Redis.events == ["run:redis"]  # lookups do not retry; regeneration does

    Redis.down = False
    assert registry.start("redis").state is ServiceState.RUNNING

    assert proxy.ping() == "pong from Redis"
    assert proxy.poke() == "Redis-client"
    assert registry.service("redis") is Redis.built[0]
    assert len(Redis.built) == 1


def test_a_proxy_follows_a_refresh_to_the_new_instance(registry: Registry) -> None:
    Redis = probe("Redis", down=True)
    registry.register_service("redis", Redis)
    proxy = registry.service("redis")
    Redis.down = False

    registry.refresh("redis")

    assert proxy.poke() == "Redis-client"
    assert proxy.name == "redis"
    assert len(Redis.built) == 2


def test_a_disabled_service_is_a_proxy_that_explains(registry: Registry) -> None:
    Mail = probe("Mail")
    registry.register_service("mail", Mail, config={"enabled": False})
    proxy = registry.service("mail")
    with pytest.raises(ServiceNotRunning, match="^service 'mail' is disabled by its config"):
        proxy.poke()
    assert Mail.events == []
    info = registry.info("mail")
    assert (info.enabled, info.state) == (False, ServiceState.NOT_STARTED)


def test_a_service_that_cannot_be_built_is_a_proxy_and_is_not_rebuilt_per_lookup(
    registry: Registry,
) -> None:
    registry.register_service("db", probe("Db"), config={"automated": "sometimes"})

    proxy = registry.service("db")
    registry.service("db")

    with pytest.raises(ServiceNotRunning) as caught:
        proxy.poke()
    expected = "could not be built: ServiceError: service config 'automated' must be true or false"
    assert expected in str(caught.value)
    assert registry.info("db").error.startswith(expected)
    assert registry.info("db").automated is True  # the class default stands in for a bad value

    registry.refresh("db", config={"automated": False})
    assert registry.service("db").poke() == "Db-client"
    assert registry.info("db").automated is False


# What regeneration reads and calls.


def test_services_lists_every_name_with_priority_flags_state_and_error(
    registry: Registry,
) -> None:
    registry.register_service("redis", probe("Redis"), priority=2)
    registry.register_service("mail", probe("Mail", down=True), automated=False)
    registry.register_service("prometheus", probe("Prom"), config={"automated": False})
    registry.service("mail")

    listed = {i.name: (i.priority, i.automated, i.state, i.error) for i in registry.services()}

    assert listed == {
        "mail": (0, False, ServiceState.FAILED, "ConnectionError: refused by 127.0.0.1:6390"),
        "prometheus": (0, False, ServiceState.NOT_STARTED, None),
        "redis": (2, True, ServiceState.NOT_STARTED, None),
    }
    assert [i.name for i in registry.services()] == ["mail", "prometheus", "redis"]
    assert registry.info("redis").implementation == "tests.test_services_registry.Redis"


def test_start_builds_an_unbuilt_service_once_and_retries_a_failed_one(
    registry: Registry,
) -> None:
    Redis = probe("Redis", down=True)
    registry.register_service("redis", Redis)

    assert registry.start("redis").state is ServiceState.FAILED
    assert Redis.events == ["run:redis"]  # building started it; no second attempt

    assert registry.start("redis").state is ServiceState.FAILED
    Redis.down = False
    assert registry.start("redis").state is ServiceState.RUNNING
    assert registry.start("redis").state is ServiceState.RUNNING
    assert Redis.events == ["run:redis"] * 3
    assert len(Redis.built) == 1


def test_refresh_deletes_the_built_service_and_builds_anew(registry: Registry) -> None:
    Redis = probe("Redis")
    registry.register_service("redis", Redis, config={"port": 6390})
    old = registry.service("redis")

    info = registry.refresh("redis", config={"port": 6391})

    assert Redis.events == ["run:redis", "delete:redis", "run:redis"]
    new = registry.service("redis")
    assert new is not old
    assert new.config == {"port": 6391}
    assert old.state is ServiceState.NOT_STARTED
    assert (info.name, info.state) == ("redis", ServiceState.RUNNING)


def test_shutdown_deletes_every_built_service(registry: Registry) -> None:
    Redis, Mail = probe("Redis"), probe("Mail")
    registry.register_service("redis", Redis)
    registry.register_service("mail", Mail)
    registry.service("redis")

    registry.shutdown()

    assert Redis.events == ["run:redis", "delete:redis"]
    assert Mail.events == []
    assert registry.info("redis").state is ServiceState.NOT_STARTED


# Repositories and contexts.


class Configs:
    source = "sql"


class CachedConfigs(Configs):
    source = "redis"


def test_a_repository_lookup_is_a_new_instance_of_the_winner(registry: Registry) -> None:
    registry.register_repository("configs", Configs, aliases=["action_configs"])
    first, second = registry.repository("configs"), registry.repository("action_configs")
    assert first is not second
    assert (type(first), type(second)) == (Configs, Configs)

    registry.register_repository("configs", CachedConfigs, priority=1)
    registry.register_repository("configs", Configs)  # newer, but lower priority
    assert registry.repository("configs").source == "redis"


class Request:
    made = 0

    def __init__(self) -> None:
        type(self).made += 1
        self.serial = type(self).made


def test_a_plain_context_is_fresh_on_every_lookup(registry: Registry) -> None:
    Req = type("Req", (Request,), {"made": 0})
    registry.register_context("request", Req)
    assert [registry.context("request").serial for _ in range(3)] == [1, 2, 3]
    assert registry.destroy("request") is False


def test_a_persistent_context_is_kept_until_destroyed_then_renewed(registry: Registry) -> None:
    Session = type("Session", (Request,), {"made": 0})
    registry.register_context("session", Session, aliases=["sess"], persistent=True)

    kept = registry.context("session")
    assert registry.context("sess") is kept
    assert kept.serial == 1

    assert registry.destroy("sess") is True
    renewed = registry.context("session")
    assert renewed is not kept
    assert renewed.serial == 2
    assert registry.context("session") is renewed
    assert registry.destroy("session") is True
    assert registry.destroy("session") is False


# Injection.


def test_inject_by_name_alias_and_renaming(registry: Registry) -> None:
    registry.register_service("redis", probe("Redis"), aliases=["cache"])
    registry.register_repository("configs", Configs)
    registry.register_context("request", type("Req", (Request,), {"made": 0}))

    @registry.inject(services=["cache"], repositories=["configs"], contexts={"req": "request"})
    def handle(action: str, *, cache: Any, configs: Configs, req: Request) -> tuple[Any, ...]:
        return action, cache.ping(), configs.source, req.serial

    assert handle("load") == ("load", "pong from Redis", "sql", 1)
    assert handle("load") == ("load", "pong from Redis", "sql", 2)  # contexts looked up per call
    assert handle.__name__ == "handle"


def test_explicit_arguments_win_and_are_not_looked_up(registry: Registry) -> None:
    Redis = probe("Redis")
    registry.register_service("redis", Redis)
    registry.register_repository("configs", Configs)

    @registry.inject(services=["redis"], repositories=["configs"])
    def handle(redis: Any, configs: Any = None) -> tuple[Any, Any]:
        return redis, configs

    positional, looked_up = handle("mine")
    assert positional == "mine"
    assert type(looked_up) is Configs
    assert handle(redis="kw")[0] == "kw"
    assert handle("pos", configs="given") == ("pos", "given")
    assert Redis.built == []


def test_inject_works_before_registration_and_resolves_per_call(registry: Registry) -> None:
    @registry.inject(repositories={"store": "configs"})
    def source(store: Configs) -> str:
        return store.source

    with pytest.raises(NotRegistered):
        source()
    registry.register_repository("configs", Configs)
    assert source() == "sql"
    registry.register_repository("configs", CachedConfigs, priority=1)
    assert source() == "redis"


def test_inject_hands_a_proxy_for_a_service_that_is_not_running(registry: Registry) -> None:
    registry.register_service("redis", probe("Redis", down=True))

    @registry.inject(services=["redis"])
    def handle(redis: Any) -> Any:
        return redis

    assert isinstance(handle(), ServiceProxy)
    with pytest.raises(ServiceNotRunning):
        handle().ping()


def test_inject_refuses_what_the_function_cannot_take(registry: Registry) -> None:
    def no_param() -> None: ...

    def positional_only(redis: Any, /) -> None: ...

    def takes_kwargs(**deps: Any) -> dict[str, Any]:
        return deps

    with pytest.raises(ServiceError, match=r"no_param\(\) has no keyword parameter 'redis'"):
        registry.inject(services=["redis"])(no_param)
    with pytest.raises(ServiceError, match="no keyword parameter 'redis'"):
        registry.inject(services=["redis"])(positional_only)
    with pytest.raises(ServiceError, match="'redis' is asked for twice"):
        registry.inject(services=["redis"], contexts=["redis"])
    with pytest.raises(ServiceError, match=r"'db.main' is not a parameter name"):
        registry.inject(services=["db.main"])

    registry.register_context("request", dict)
    assert registry.inject(contexts=["request"])(takes_kwargs)() == {"request": {}}


# Thread safety and isolation.


def test_many_threads_asking_at_once_build_and_start_once(registry: Registry) -> None:
    class Slow(Probe):
        def run(self) -> None:
            time.sleep(0.05)  # widens the window in which the others arrive
            super().run()

    registry.register_service("slow", Slow)
    barrier = threading.Barrier(16)
    got: list[Any] = []

    def ask() -> None:
        barrier.wait(WAIT)
        got.append(registry.service("slow"))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)

    assert len(got) == 16
    assert len(Slow.built) == 1
    assert Slow.events == ["run:slow"]
    assert all(service is Slow.built[0] for service in got)


def test_many_threads_share_one_persistent_context(registry: Registry) -> None:
    class SlowSession(Request):
        made = 0

        def __init__(self) -> None:
            time.sleep(0.05)
            super().__init__()

    registry.register_context("session", SlowSession, persistent=True)
    barrier = threading.Barrier(16)
    got: list[Any] = []

    def ask() -> None:
        barrier.wait(WAIT)
        got.append(registry.context("session"))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert SlowSession.made == 1
    assert len({id(session) for session in got}) == 1


def test_isolated_registries_share_nothing_with_the_default(registry: Registry) -> None:
    registry.register_service("redis", probe("Redis"))
    assert isinstance(default_registry, Registry)
    assert default_registry is not registry
    with pytest.raises(NotRegistered):
        Registry().service("redis")
