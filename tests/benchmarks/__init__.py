"""Benchmarks of the provider, run by ``make bench`` as ``python -m tests.benchmarks``.

They are not part of ``make test``: figures on a shared machine are noisy, so every figure here is
a ratio or a bound measured inside one run (interleaved repetitions), printed as
``BENCH <name> <value> <unit> target <target> PASS|FAIL`` and written to ``docs/benchmarks.md``.
The module files are named ``bench_*.py`` and ``conftest.py`` in this folder tells pytest to skip
the folder, so ``pytest`` never collects them.
"""
