"""Apache Airflow provider for Altegio (YCLIENTS) inventory and the Altacolor supplier catalogue.

Importing this package is deliberately cheap: DAG files import it on every parse, so nothing
here imports httpx, pydantic models or Airflow internals. Import hooks, operators and sensors
from their own modules.
"""

from __future__ import annotations

__version__ = "0.2.0"

__all__ = ["__version__"]
