"""A 100000-product catalogue: cheap to start, paged by slicing, incremental reads by index."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_altegio.sandbox.seed import ChainSeed
from airflow_provider_altegio.sandbox.testing import SandboxInfo, run_sandbox

if TYPE_CHECKING:
    import httpx

pytestmark = pytest.mark.integration

SIZE = 100_000
LOCATION = 1002
FIRST = 20_000_001


@pytest.fixture(scope="module")
def big() -> Iterator[SandboxInfo]:
    with run_sandbox(products=SIZE, seed=11) as sandbox:
        yield sandbox


@pytest.fixture
def api(big: SandboxInfo) -> Iterator[httpx.Client]:
    big.reset()
    with big.altegio_client() as client:
        yield client


def _ids(api: httpx.Client, **params: Any) -> list[int]:
    response = api.get(f"/goods/{LOCATION}", params={"count": 1000, **params})
    assert response.status_code == 200, response.text
    return [p["good_id"] for p in response.json()["data"]]


def test_first_middle_and_last_pages(api: httpx.Client) -> None:
    assert _ids(api, page=1) == list(range(FIRST, FIRST + 1000))
    assert _ids(api, page=50) == list(range(FIRST + 49_000, FIRST + 50_000))
    assert _ids(api, page=100) == list(range(FIRST + 99_000, FIRST + SIZE))
    assert _ids(api, page=101) == []
    assert _ids(api, page=143, count=700) == list(range(FIRST + 142 * 700, FIRST + SIZE))  # short last page


def test_incremental_reads_see_only_changes(big: SandboxInfo, api: httpx.Client) -> None:
    last = FIRST + SIZE - 1
    product = api.get(f"/goods/{LOCATION}/{last}").json()["data"]
    newest_seeded = product["last_change_date"]
    assert _ids(api, changed_after=newest_seeded) == [last]  # the seeded order: newest is the last id
    changed = api.put(f"/goods/{LOCATION}/{FIRST + 10}", json={"desired_amount": 50}).json()["data"]
    receipt = {
        "type_id": 3,
        "storage_id": 3201,
        "create_date": "2026-11-20 10:00:00",
        "master_id": 990101,
        "goods_transactions": [{"good_id": FIRST + 77_777, "amount": 5}],
    }
    assert api.post(f"/storage_operations/operation/{LOCATION}", json=receipt).status_code == 200
    assert _ids(api, changed_after=changed["last_change_date"]) == [FIRST + 10, FIRST + 77_777]
    middle = api.get(f"/goods/{LOCATION}/{FIRST + 50_000}").json()["data"]["last_change_date"]
    window = _ids(api, changed_after=middle, changed_before=newest_seeded, page=50)
    untouched = [i for i in range(FIRST + 50_000, FIRST + SIZE) if i != FIRST + 77_777]  # now newer
    assert window == untouched[49_000:50_000]
    assert big.state(location_id=LOCATION)["locations"][0]["changed_products"] == 2


def test_search_and_categories_at_scale(api: httpx.Client) -> None:
    deep = api.get(f"/goods/{LOCATION}/{FIRST + 99_990}").json()["data"]
    assert _ids(api, term=deep["barcode"]) == [deep["good_id"]]
    assert deep["good_id"] in _ids(api, term=deep["article"])
    in_category = _ids(api, category_id=deep["category_id"], page=2)
    assert len(in_category) == 1000
    assert in_category == sorted(in_category)
    assert api.delete(f"/goods/{LOCATION}/{FIRST + 1}").status_code == 200
    assert _ids(api, page=1, count=3) == [FIRST, FIRST + 2, FIRST + 3]


def test_titles_articles_and_barcodes_stay_unique_at_scale(api: httpx.Client) -> None:
    chain = ChainSeed(seed=11, products=SIZE)  # what the big sandbox serves, without 100 pages of HTTP
    products = [chain.product(i) for i in range(SIZE)]
    for key in ("title", "article", "barcode"):
        assert len({getattr(p, key) for p in products}) == SIZE, key
    assert any(p.title.endswith(" #2") for p in products)  # repeats carry a line number
    for page in (1, 50, 100):
        served = api.get(f"/goods/{LOCATION}", params={"count": 1000, "page": page}).json()["data"]
        assert [p["title"] for p in served] == [p.title for p in products[(page - 1) * 1000 : page * 1000]]
