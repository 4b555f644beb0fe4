"""Module mode: import with setup(), unload that really frees, and the allow-list."""

from __future__ import annotations

import sys
import textwrap
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from jsorc.actions import registry
from jsorc.actions.configs import parse_config, resolve_config
from jsorc.actions.modules import ModuleHost
from jsorc.errors import ConfigError, ModuleNotAllowed


@pytest.fixture
def scratch_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throwaway package `scratchacts` with one action module that counts setup() runs."""
    package = tmp_path / "scratchacts"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "counter.py").write_text(
        textwrap.dedent("""
        from jsorc import action

        SETUP_RUNS = []
        BALLAST = bytearray(8 * 1024 * 1024)

        def setup():
            SETUP_RUNS.append(1)

        @action(aliases=["twice"])
        def double(x):
            return 2 * x

        @action(group="maths")
        def square(x):
            return x * x
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "scratchacts"
    for name in [m for m in sys.modules if m.startswith("scratchacts")]:
        del sys.modules[name]


def test_load_registers_functions_and_runs_setup_once(scratch_package: str) -> None:
    host = ModuleHost()
    config = parse_config("counter", {"module": "scratchacts.counter"}, allowed=("scratchacts",))
    functions = host.load(config)
    host.load(config)

    assert sorted(functions) == ["counter.double", "counter.twice", "maths.square"]
    assert functions["counter.twice"].func(21) == 42
    assert functions["maths.square"].func(7) == 49
    assert sys.modules["scratchacts.counter"].SETUP_RUNS == [1]


def test_unload_frees_the_module(scratch_package: str) -> None:
    host = ModuleHost()
    config = parse_config("counter", {"module": "scratchacts.counter"}, allowed=("scratchacts",))
    host.load(config)
    module_ref = weakref.ref(sys.modules["scratchacts.counter"])

    assert host.unload("counter") is True
    assert "scratchacts.counter" not in sys.modules
    assert not hasattr(sys.modules["scratchacts"], "counter")
    assert registry.functions_of(["scratchacts.counter"]) == {}
    assert module_ref() is None, "the module object is still referenced somewhere"
    assert host.unload("counter") is False


def test_a_module_outside_the_allow_list_is_refused_before_import(scratch_package: str) -> None:
    with pytest.raises(ModuleNotAllowed, match="JSORC_ALLOWED_MODULES"):
        parse_config("counter", {"module": "scratchacts.counter"}, allowed=("jsorc_examples",))
    assert "scratchacts" not in sys.modules
    assert "scratchacts.counter" not in sys.modules


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"module": "jsorc_examples.no_such_thing"}, "cannot be found"),
        ({}, "needs 'module'"),
        ({"module": "jsorc_examples.text_tools", "memory_mb": -1}, "non-negative"),
        ({"module": "jsorc_examples.text_tools", "colour": 1}, "unknown key"),
        ({"module": "os"}, "not under an allowed prefix"),
        ("jsorc_examples.missing_config_module", "cannot be found"),
        ("jsorc_examples.text_tools", "has no ACTION_CONFIGS"),
    ],
)
def test_bad_configs_say_what_to_fix(config: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config("text_tools", config, allowed=("jsorc_examples",))


def test_jaseci_form_is_read_from_a_config_module() -> None:
    config = resolve_config("classifier", "jsorc_examples.config", allowed=("jsorc_examples",))
    assert config.module == "jsorc_examples.classifier"
    assert config.memory_mb == 120.0
    with pytest.raises(ConfigError, match="has no action 'nope'"):
        resolve_config("nope", "jsorc_examples.config", allowed=("jsorc_examples",))
