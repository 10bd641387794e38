"""Finding products by code against the sandbox, near the fewest requests: the catalogue is walked
in pages of 1000 while the codes still to look up outnumber the pages read, then the rest cost a
request each; one code costs one request. A walk whose first page is short asks one more
(see ``PageCountPager``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_altegio.workflows.catalogue import find_products

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def large() -> Iterator[Any]:
    """A sandbox of 2,500 products per location: three pages of 1000."""
    from airflow_provider_altegio.sandbox.testing import run_sandbox

    with run_sandbox(products=2500) as sandbox:
        yield sandbox


def _hook(monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> Any:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_FIND", json.dumps(sandbox.altegio_connection()))
    return AltegioHook("altegio_find", page_size=50)


def _codes(catalogue: list[Any]) -> tuple[set[tuple[str, str]], dict[tuple[str, str], list[Any]]]:
    """Five codes of every kind, found or not, and what each names."""
    a, b = catalogue[0], catalogue[-1]
    expected = {
        ("barcode", a.barcode): [a],
        ("code", b.article): [b],
        ("good_id", str(b.good_id)): [b],
        ("article", a.article[:3]): [],  # a search finds products containing it: none is exact
        ("good_id", "999999999"): [],
    }
    return set(expected), expected


def test_a_catalogue_shorter_than_a_page_is_read_once(altegio_sandbox: Any, monkeypatch: Any) -> None:
    with _hook(monkeypatch, altegio_sandbox) as hook:
        location = altegio_sandbox.location_ids[0]
        codes, expected = _codes(list(hook.iter_products(location)))
        altegio_sandbox.clear_requests()
        assert find_products(hook, codes, location) == expected
    # The empty second page says the short first one was the end, not an undocumented cap.
    assert [dict(r["query"])["page"] for r in altegio_sandbox.requests()] == ["1", "2"]


def test_codes_outnumbering_the_pages_walk_the_catalogue(large: Any, monkeypatch: Any) -> None:
    large.reset()
    with _hook(monkeypatch, large) as hook:
        location = large.location_ids[0]
        codes, expected = _codes(list(hook.iter_products(location, page_size=1000)))
        large.clear_requests()
        assert find_products(hook, codes, location) == expected
    assert len(large.requests()) == 3  # five codes, 2,500 products in pages of 1000


def test_one_code_is_one_request(large: Any, monkeypatch: Any) -> None:
    large.reset()
    with _hook(monkeypatch, large) as hook:
        location = large.location_ids[0]
        last = list(hook.iter_products(location, page_size=1000))[-1]
        large.clear_requests()
        assert find_products(hook, {("barcode", last.barcode)}, location) == {
            ("barcode", last.barcode): [last]
        }
    (request,) = large.requests()
    assert ["term", last.barcode] in request["query"]


def test_ids_found_on_a_page_need_no_lookup(large: Any, monkeypatch: Any) -> None:
    large.reset()
    with _hook(monkeypatch, large) as hook:
        location = large.location_ids[0]
        catalogue = list(hook.iter_products(location, page_size=1000))
        first, last = catalogue[0], catalogue[-1]
        codes = {("good_id", str(first.good_id)), ("article", last.article)}
        large.clear_requests()
        found = find_products(hook, codes, location)
    assert found == {("good_id", str(first.good_id)): [first], ("article", last.article): [last]}
    # The first page settles the id; the article, which another page might share, is searched.
    assert [dict(r["query"]).get("term") for r in large.requests()] == [None, last.article]


def test_more_codes_than_a_page_holds_walk_the_catalogue_once(large: Any, monkeypatch: Any) -> None:
    large.reset()
    with _hook(monkeypatch, large) as hook:
        location = large.location_ids[0]
        catalogue = list(hook.iter_products(location, page_size=1000))
        codes = {("article", p.article) for p in catalogue[::40]} | {("barcode", "0000000000000")}
        assert len(codes) > hook.page_size
        large.clear_requests()
        found = find_products(hook, codes, location)
    assert found[("barcode", "0000000000000")] == []
    assert all(found[("article", p.article)] == [p] for p in catalogue[::40])
    assert len(large.requests()) == 3  # 2,500 products in pages of 1000
