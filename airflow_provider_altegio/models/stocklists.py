"""Deprecated: moved to :mod:`airflow_provider_altegio.workflows.stocklists`."""

from __future__ import annotations

import warnings

from airflow_provider_altegio.workflows.stocklists import *  # noqa: F403

warnings.warn("models.stocklists moved to workflows.stocklists", DeprecationWarning, stacklevel=2)
