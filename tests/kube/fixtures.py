"""Fixtures the Kubernetes tests share: a running API-server emulator and a real
`kubernetes` client pointed at it (registered from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jsorc.kube.client import KubeClient, client_for
from tests.kube.emulator import ApiServerEmulator, running_emulator


@pytest.fixture
def emulator() -> Iterator[ApiServerEmulator]:
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture
def client(emulator: ApiServerEmulator) -> Iterator[KubeClient]:
    kube = client_for(emulator.url, timeout=(2.0, 5.0))
    yield kube
    kube.close()
