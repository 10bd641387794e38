"""Helpers shared by the DAG tests: parsing DAG files the way the dag processor does, with
every way out (sockets, connection lookups, variables) refused."""

from __future__ import annotations

import gc
import os
import socket
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


class ParseTimeAccess(AssertionError):
    """Raised by the guards when a DAG file reaches out while being parsed."""


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise ParseTimeAccess(f"parse-time access: {args!r:.200}")


def _parse_guarded(folder: Path) -> Any:
    """A DagBag of ``folder``, parsed with sockets, connection lookups and variables refused.

    The warnings raised while parsing are kept on the bag as ``caught_warnings``.
    """
    from airflow.sdk import BaseHook, Variable

    from airflow_provider_altegio.compat import DagBag

    # Collect what earlier tests left behind first, so that their "unclosed socket" warnings,
    # raised whenever the garbage collector runs, are not taken for this parse's.
    gc.collect()
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings(record=True) as caught:
        for name in [n for n in os.environ if n.startswith("AIRFLOW_CONN_")]:
            # A connection in the environment would let a careless DAG "work" at parse time.
            patch.delenv(name)
        patch.setattr(socket.socket, "connect", _refuse)
        patch.setattr(socket.socket, "connect_ex", _refuse)
        patch.setattr(socket, "create_connection", _refuse)
        patch.setattr(socket, "getaddrinfo", _refuse)
        patch.setattr(BaseHook, "get_connection", classmethod(_refuse))
        patch.setattr(Variable, "get", staticmethod(_refuse))
        warnings.simplefilter("always")
        bag = DagBag(dag_folder=str(folder))
    bag.caught_warnings = list(caught)
    return bag


@pytest.fixture(scope="session")
def parse_guarded() -> Callable[[Path], Any]:
    """``parse_guarded(folder)``: parse DAG files with every way out refused (see above)."""
    return _parse_guarded
