"""Pricing an order from the supplier at the fewest requests (issue 23): a search per code for a
short order, one walk of the catalogue for a long one, and details only for what is ordered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_altegio.workflows.catalogue import supplier_details

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def large() -> Iterator[Any]:
    """A sandbox of 2,000 products per location, as a real salon's catalogue."""
    from airflow_provider_altegio.sandbox.testing import run_sandbox

    with run_sandbox(products=2000) as sandbox:
        yield sandbox


@pytest.fixture
def altacolor(large: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook

    large.reset()
    monkeypatch.setenv("AIRFLOW_CONN_ALTACOLOR_LARGE", json.dumps(large.altacolor_connection()))
    with AltacolorHook("altacolor_large") as hook:
        yield hook


def _codes(hook: Any, count: int) -> list[str]:
    """``count`` codes as a low-stock report has them: most carried by the supplier, some not."""
    catalogue = [p.product_code for p in hook.iter_catalogue()]
    wanted = count - count // 3
    carried = catalogue[:: len(catalogue) // wanted][:wanted]  # spread over the whole catalogue
    return carried + [f"NOT-CARRIED-{n}" for n in range(count - len(carried))]


@pytest.mark.parametrize(("lines", "most"), [(10, 12), (409, 23)])
def test_an_order_is_priced_at_the_fewest_requests(large: Any, altacolor: Any, lines: int, most: int) -> None:
    codes = _codes(altacolor, lines)
    large.clear_requests()
    details = supplier_details(altacolor, codes)
    made = len(large.requests())
    print(f"[requests] pricing {lines} lines from the supplier: {made} requests (at most {most})")
    assert made <= most, f"{made} requests to price {lines} lines"
    carried = {code for code in codes if not code.startswith("NOT-CARRIED")}
    assert {d.product_code for d in details} == carried
    assert all(d.skus and d.skus[0].price for d in details)  # details: the variants and their prices


def test_nothing_to_price_costs_nothing(large: Any, altacolor: Any) -> None:
    large.clear_requests()
    assert supplier_details(altacolor, [None, "", "  "]) == []
    assert large.requests() == []
