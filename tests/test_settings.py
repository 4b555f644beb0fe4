"""Settings from the environment, their checks, and the live overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from jsorc.errors import SettingsError
from jsorc.settings import Settings


def test_environment_values_are_parsed_by_type(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "JSORC_HOME": str(tmp_path),
            "JSORC_BACKOFF_INTERVAL": "4.5",
            "JSORC_AUTOMATION": "off",
            "JSORC_ALLOWED_MODULES": "jsorc_examples, acme.actions ,",
            "JSORC_KUBE_IN_CLUSTER": "yes",
        }
    )
    assert settings.backoff_interval == 4.5
    assert settings.automation is False
    assert settings.allowed_modules == ("jsorc_examples", "acme.actions")
    assert settings.kube_in_cluster is True
    assert settings.database_url == f"sqlite:///{tmp_path / 'jsorc.sqlite3'}"


def test_a_child_process_gets_the_same_settings_back(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, backoff_interval=7, keep_alive=("redis", "prometheus"))
    assert Settings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"JSORC_BACKOFF_INTERVAL": "1"}, "at least 2 seconds"),
        ({"JSORC_BACKOFF_INTERVAL": "soon"}, "not a number"),
        ({"JSORC_BACKEND": "mainframe"}, "backend must be one of local, kubernetes"),
    ],
)
def test_bad_environment_values_say_what_to_fix(env: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_live_overrides_are_checked(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert settings.with_overrides({"backoff_interval": 3}).backoff_interval == 3.0
    with pytest.raises(SettingsError, match="at least 2 seconds"):
        settings.with_overrides({"backoff_interval": 0.5})
    with pytest.raises(SettingsError, match="unknown setting"):
        settings.with_overrides({"redis_url": "redis://elsewhere"})
    with pytest.raises(SettingsError, match="true or false"):
        settings.with_overrides({"automation": "yes"})
