"""Finding products by code against the sandbox: each code costs one request while there are
few, and a whole stocktake's worth costs one walk of the catalogue instead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_altegio.workflows.catalogue import find_products

pytestmark = pytest.mark.integration


@pytest.fixture
def hook(altegio_sandbox: Any) -> Iterator[Any]:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with AltegioHook(page_size=50) as altegio:
        yield altegio


def test_few_codes_are_looked_up_one_request_each(altegio_sandbox: Any, hook: Any) -> None:
    location = altegio_sandbox.location_ids[0]
    a, b = list(hook.iter_products(location))[:2]
    codes = {
        ("barcode", a.barcode),
        ("code", b.article),
        ("good_id", str(b.good_id)),
        ("article", a.article[:3]),  # a search finds products containing it: none is exact
        ("good_id", "999999999"),
    }
    altegio_sandbox.clear_requests()
    found = find_products(hook, codes, location)
    assert found == {
        ("barcode", a.barcode): [a],
        ("code", b.article): [b],
        ("good_id", str(b.good_id)): [b],
        ("article", a.article[:3]): [],
        ("good_id", "999999999"): [],
    }
    assert len(altegio_sandbox.requests()) == len(codes)


def test_more_codes_than_a_page_holds_walk_the_catalogue_once(altegio_sandbox: Any, hook: Any) -> None:
    location = altegio_sandbox.location_ids[0]
    catalogue = list(hook.iter_products(location))
    codes = {("article", p.article) for p in catalogue[:60]} | {("barcode", "0000000000000")}
    altegio_sandbox.clear_requests()
    found = find_products(hook, codes, location)
    assert found[("barcode", "0000000000000")] == []
    assert all(found[("article", p.article)] == [p] for p in catalogue[:60])
    pages = -(-len(catalogue) // 50) + (len(catalogue) % 50 == 0)  # the short last page ends the walk
    assert len(altegio_sandbox.requests()) == pages
    assert len(altegio_sandbox.requests()) < len(codes)
