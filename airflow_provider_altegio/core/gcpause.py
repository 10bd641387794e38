"""Hold off Python's cyclic garbage collector while one page of a listing becomes models.

Why: validating a page of 1000 products allocates about 14 collector-tracked objects per item
(the model, its ``__dict__``, its fields-set, its extras, the nested stock models...), so the
collector runs about twenty young-generation passes in the middle of building one page. Each
pass finds the page's fresh models alive and promotes them, and the promoted objects soon
trigger full collections of the whole heap: about 130 ms each in a process with Airflow loaded,
one or two per 10000 products, a fifth of the time of a catalogue read (measured, see
``docs/benchmarks.md``). Paused while the page is built, the collector scans the page once,
after it is built, and the page is usually gone before it would be promoted.

The collector is process-wide, so the pause is kept short (one page), nests across threads
(only the last pause to end turns the collector back on) and never turns on a collector that
was off when the first pause began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _CollectorPause:
    """Counts the pauses in progress; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._turned_off = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._active == 0:
                self._turned_off = gc.isenabled()
                if self._turned_off:
                    gc.disable()
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0 and self._turned_off:
                    self._turned_off = False
                    gc.enable()


#: ``with collector_paused(): ...`` runs the block with the cyclic collector held off.
collector_paused = _CollectorPause()
