"""Deprecated: moved to :mod:`airflow_provider_altegio.workflows.restock`."""

from __future__ import annotations

import warnings

from airflow_provider_altegio.workflows.restock import *  # noqa: F403

warnings.warn("models.orders moved to workflows.restock", DeprecationWarning, stacklevel=2)
