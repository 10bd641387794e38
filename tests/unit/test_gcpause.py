"""The collector pause around one page's validation: short, nested, and never overriding."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator

import pytest

from airflow_provider_altegio.core.dialects import AltegioDialect, read_page
from airflow_provider_altegio.core.gcpause import collector_paused
from airflow_provider_altegio.models.altegio import Product


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_off_inside_and_back_on_after() -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_is_back_on_after_an_error() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_pauses_in_two_threads_turn_it_on_only_at_the_end() -> None:
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def other_thread() -> None:
        with collector_paused():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=other_thread)
    with collector_paused():
        worker.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread's page is still being built
    release.set()
    worker.join(5)
    assert gc.isenabled()


def test_page_validation_runs_with_the_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_altegio.core import dialects

    seen: list[bool] = []
    adapter = dialects.page_adapter(AltegioDialect, Product)

    class Spy:
        def validate_json(self, content: bytes) -> object:
            seen.append(gc.isenabled())
            return adapter.validate_json(content)

    monkeypatch.setattr(dialects, "page_adapter", lambda dialect, model: Spy())
    gc.enable()
    body = json.dumps({"success": True, "data": [{"good_id": 1}], "meta": []}).encode()
    page = read_page(AltegioDialect, Product, body)
    assert page is not None
    assert page.data == [Product(good_id=1)]
    assert seen == [False]
    assert gc.isenabled()
