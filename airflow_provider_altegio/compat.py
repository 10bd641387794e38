"""What differs between the Airflow releases this provider supports (3.1 and newer), in one place.

Each name comes from its newest home when the running Airflow has it, else from the older one;
the ``AIRFLOW_V_*_PLUS`` flags say which release runs. DAG files may import from here too
(``from airflow_provider_altegio.compat import AirflowFailException``) to run on every supported
release. Importing it is cheap: the trigger, timetable and ``DagBag`` names load on first use.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from airflow import __version__ as AIRFLOW_VERSION
from airflow.sdk.log import mask_secret


def _minor(version: str) -> tuple[int, int]:
    """``(major, minor)`` of an Airflow version string (``"3.4.0b2"`` -> ``(3, 4)``)."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:  # pragma: no cover - Airflow always has a dotted version
        raise RuntimeError(f"unrecognised Airflow version {version!r}")
    return int(match[1]), int(match[2])


AIRFLOW_V_3_2_PLUS = _minor(AIRFLOW_VERSION) >= (3, 2)
AIRFLOW_V_3_3_PLUS = _minor(AIRFLOW_VERSION) >= (3, 3)
AIRFLOW_V_3_4_PLUS = _minor(AIRFLOW_VERSION) >= (3, 4)

#: The triggerer shares one poll between triggers with the same ``shared_stream_key`` (3.3+);
#: before that it calls each trigger's ``run()`` (see :mod:`airflow_provider_altegio.fanout`).
HAS_SHARED_STREAMS = AIRFLOW_V_3_3_PLUS
#: A human-in-the-loop task waits in the ``awaiting_input`` state (3.3+); before, ``deferred``.
HITL_WAITING_STATE = "awaiting_input" if AIRFLOW_V_3_3_PLUS else "deferred"

if AIRFLOW_V_3_2_PLUS:
    from airflow.sdk.configuration import conf
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowRescheduleException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferred,
    )
else:
    from airflow.configuration import conf
    from airflow.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowRescheduleException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferred,
    )

if AIRFLOW_V_3_3_PLUS:
    from airflow.sdk.log import amask_secret
else:

    async def amask_secret(secret: Any, name: str | None = None) -> None:
        """:func:`mask_secret` for an event loop, as Airflow 3.3 has it: the supervisor is told
        without a blocking round trip (in a triggerer) or at once (in ``dag.test()``)."""
        import contextlib

        from airflow.sdk._shared.secrets_masker import _secrets_masker
        from airflow.sdk.execution_time import task_runner
        from airflow.sdk.execution_time.comms import MaskSecret

        _secrets_masker().add_mask(secret, name)
        comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
        with contextlib.suppress(Exception):  # as mask_secret: the local mask is what counts
            if hasattr(comms, "asend"):
                await comms.asend(MaskSecret(value=secret, name=name))
            elif comms is not None:  # dag.test()'s in-process supervisor answers synchronously
                comms.send(MaskSecret(value=secret, name=name))


if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable
    from airflow.triggers.base import BaseEventTrigger, TriggerEvent


def _trigger_names() -> dict[str, Any]:
    """``BaseEventTrigger`` (with ``asset_state_store``: 3.3+, ``None`` before) and ``TriggerEvent``."""
    from airflow.triggers.base import BaseEventTrigger as _BaseEventTrigger
    from airflow.triggers.base import TriggerEvent

    base: Any = _BaseEventTrigger
    if not AIRFLOW_V_3_3_PLUS:

        class BaseEventTrigger(_BaseEventTrigger):  # type: ignore[misc]
            """Airflow's ``BaseEventTrigger`` with 3.3's ``asset_state_store``: none here."""

            asset_state_store: Any = None

        base = BaseEventTrigger
    return {"BaseEventTrigger": base, "TriggerEvent": TriggerEvent}


def _timetable_names() -> dict[str, Any]:
    """``CronTriggerTimetable`` and ``AssetOrTimeSchedule``: in ``airflow.sdk`` from 3.2 on."""
    if AIRFLOW_V_3_2_PLUS:
        from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable
    else:
        from airflow.timetables.assets import AssetOrTimeSchedule
        from airflow.timetables.trigger import CronTriggerTimetable
    return {"AssetOrTimeSchedule": AssetOrTimeSchedule, "CronTriggerTimetable": CronTriggerTimetable}


def _dagbag_names() -> dict[str, Any]:
    """``DagBag`` and ``sync_bag_to_db`` (for tests that parse DAG files): in
    ``airflow.dag_processing.dagbag`` from 3.2 on."""
    if AIRFLOW_V_3_2_PLUS:
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    else:
        from airflow.models.dagbag import DagBag, sync_bag_to_db
    return {"DagBag": DagBag, "sync_bag_to_db": sync_bag_to_db}


# Names whose modules cost a parse something: loaded on first use, then kept as globals.
_LAZY = {
    "AssetOrTimeSchedule": _timetable_names,
    "BaseEventTrigger": _trigger_names,
    "TriggerEvent": _trigger_names,
    "CronTriggerTimetable": _timetable_names,
    "DagBag": _dagbag_names,
    "sync_bag_to_db": _dagbag_names,
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    names = _LAZY[name]()
    globals().update(names)
    return names[name]


__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "AIRFLOW_V_3_4_PLUS",
    "HAS_SHARED_STREAMS",
    "HITL_WAITING_STATE",
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowRescheduleException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "AssetOrTimeSchedule",
    "BaseEventTrigger",
    "CronTriggerTimetable",
    "DagBag",
    "TaskDeferred",
    "TriggerEvent",
    "amask_secret",
    "conf",
    "mask_secret",
    "sync_bag_to_db",
]
