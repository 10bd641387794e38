"""pytest plugin with sandbox fixtures for any test suite; opt in with
``pytest_plugins = ["airflow_provider_altegio.sandbox.pytest_plugin"]`` in a ``conftest.py``.

* ``altegio_sandbox_server`` (session): one sandbox for the whole run, started on first use.
* ``altegio_sandbox`` (function): the same sandbox, reset to the seeded state before the test
  (faults, request log, settings and data), with ``AIRFLOW_CONN_ALTEGIO_DEFAULT`` and
  ``AIRFLOW_CONN_ALTACOLOR_DEFAULT`` pointing at it for the duration of the test.
* ``altegio_sandbox_client`` (function): an authenticated ``httpx.Client`` on ``/api/v1`` of that
  sandbox, for tests of raw HTTP behaviour.

It imports nothing heavy at module level: the sandbox itself is imported inside the fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import httpx

    from airflow_provider_altegio.sandbox.testing import SandboxInfo


@pytest.fixture(scope="session")
def altegio_sandbox_server() -> Iterator[SandboxInfo]:
    """A sandbox shared by the session (seeded, no rate limit, a few hundred products)."""
    from airflow_provider_altegio.sandbox.testing import run_sandbox

    with run_sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def altegio_sandbox(altegio_sandbox_server: SandboxInfo, monkeypatch: pytest.MonkeyPatch) -> SandboxInfo:
    """The session sandbox, freshly reset, with the default connections set in the environment."""
    altegio_sandbox_server.reset()
    for name, value in altegio_sandbox_server.env().items():
        monkeypatch.setenv(name, value)
    return altegio_sandbox_server


@pytest.fixture
def altegio_sandbox_client(altegio_sandbox: SandboxInfo) -> Iterator[httpx.Client]:
    """An httpx client on the reset sandbox's ``/api/v1`` with valid partner and user tokens."""
    with altegio_sandbox.altegio_client() as client:
        yield client
