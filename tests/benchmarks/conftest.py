"""Keep pytest out of the benchmarks: they run through ``make bench``, never in ``make test``."""

from __future__ import annotations

collect_ignore_glob = ["*.py"]
