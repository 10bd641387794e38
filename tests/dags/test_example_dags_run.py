"""Each example DAG runs to success against the sandbox (``dag.test()``), and the sandbox
holds the right documents and the right stock afterwards."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
RECEIPT, WRITE_OFF = 3, 4


def load(filename: str, dag_id: str) -> Any:
    """One DAG of one example file, parsed the way the dag processor parses it."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(EXAMPLES / filename))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


@pytest.fixture
def hook(altegio_sandbox: Any) -> Iterator[Any]:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with AltegioHook() as altegio:
        yield altegio


def products(hook: Any, location_id: int) -> dict[int, Any]:
    return {p.good_id: p for p in hook.iter_products(location_id)}


def documents(sandbox: Any, type_id: int) -> list[dict[str, Any]]:
    """Documents created since the seed, of one type."""
    return [d for d in sandbox.state()["documents"] if d["type_id"] == type_id]


def transactions_of(sandbox: Any, document: dict[str, Any]) -> list[dict[str, Any]]:
    """A document's transactions, with the product and storage ids the API only nests."""
    return [
        {**t, "good_id": t["good"]["id"], "storage_id": t["storage"]["id"]}
        for t in sandbox.state(document_id=document["id"])["transactions"]
    ]


def failed_tasks(dag_run: Any) -> set[str]:
    return {ti.task_id for ti in dag_run.get_task_instances() if ti.state == "failed"}


# --------------------------------------------------------------------------------------------
# altegio_restock
# --------------------------------------------------------------------------------------------


def test_restock_books_one_receipt_per_storage_exactly_once(
    altegio_sandbox: Any, hook: Any, run_dag: Any, xcom: Any, tmp_path: Path
) -> None:
    locations = altegio_sandbox.location_ids
    before = {loc: products(hook, loc) for loc in locations}
    # The answer to the first receipt is lost after the server applied it (a dropped connection):
    # the operator must find the document by its key instead of booking the delivery twice.
    altegio_sandbox.faults.add("POST", "/storage_operations/operation/*", drop="after", count=1)

    dag_run = run_dag(
        load("altegio_restock.py", "altegio_restock"),
        run_conf={"location_ids": locations, "work_dir": tmp_path.as_uri()},
    )
    assert dag_run.state == "success", failed_tasks(dag_run)

    low = xcom(dag_run, "find_products_to_restock")
    unmatched = xcom(dag_run, "report_unmatched_products")
    receipts_args = xcom(dag_run, "group_receipts_by_storage")
    # The plan is exactly the products at or below critical, counted over each location.
    expected = {
        (loc, p.good_id)
        for loc in locations
        for p in before[loc].values()
        if sum(a.amount for a in p.actual_amounts) <= (p.critical_amount or 0) < (p.desired_amount or 0)
    }
    assert {(line["location_id"], line["good_id"]) for line in low} == expected
    assert low, "the seeded chain always has products below critical"
    assert unmatched, "the seeded supplier does not carry every product"
    booked = {(args["location_id"], t["good_id"]) for args in receipts_args for t in args["transactions"]}
    assert booked | {(u["location_id"], u["good_id"]) for u in unmatched} == expected
    assert not booked & {(u["location_id"], u["good_id"]) for u in unmatched}

    # One receipt document per (location, storage), holding exactly the planned lines.
    created = documents(altegio_sandbox, RECEIPT)
    assert (
        len(created)
        == len(receipts_args)
        == len({(a["location_id"], a["storage_id"]) for a in receipts_args})
    )
    results = [xcom(dag_run, "create_receipt", map_index=i) for i in range(len(receipts_args))]
    assert sorted(result["created"] for result in results) == [False] + [True] * (len(results) - 1)
    assert {d["id"] for d in created} == {r["document_id"] for r in results}
    for args, result in zip(receipts_args, results, strict=True):
        (document,) = [d for d in created if d["id"] == result["document_id"]]
        assert document["storage_id"] == args["storage_id"]
        assert "Restock of" in document["comment"]
        assert "[airflow:" in document["comment"]
        lines = transactions_of(altegio_sandbox, document)
        assert sorted((t["good_id"], t["amount"]) for t in lines) == sorted(
            (t["good_id"], t["amount"]) for t in args["transactions"]
        )

    # Stock: every booked product is back at (at least) its desired amount, in whole units.
    for line in low:
        loc, good = line["location_id"], line["good_id"]
        if (loc, good) not in booked:
            continue
        product = hook.get_product(good, loc)
        total = sum(a.amount for a in product.actual_amounts)
        assert total == pytest.approx(line["on_hand"] + line["quantity"])
        assert product.desired_amount <= total < product.desired_amount + 1
        assert line["quantity"] == math.ceil(line["desired_amount"] - line["on_hand"])
        assert product.amount_in(line["storage_id"]) > before[loc][good].amount_in(line["storage_id"])


def test_restock_with_nothing_below_critical_books_nothing(
    altegio_sandbox: Any, hook: Any, run_dag: Any, tmp_path: Path
) -> None:
    """The short circuit: when every product is above critical, the run succeeds and writes nothing."""
    location = altegio_sandbox.location_ids[0]
    low = [
        p
        for p in products(hook, location).values()
        if sum(a.amount for a in p.actual_amounts) <= (p.critical_amount or 0)
    ]
    for product in low:
        hook.update_product(product.good_id, {"critical_amount": 0, "desired_amount": 0}, location)

    dag_run = run_dag(
        load("altegio_restock.py", "altegio_restock"),
        run_conf={"location_ids": [location], "work_dir": tmp_path.as_uri()},
    )
    assert dag_run.state == "success"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["read_supplier_catalogue"] == "skipped"
    assert documents(altegio_sandbox, RECEIPT) == []


def test_low_stock_watcher_reports_a_product_that_ran_low(altegio_sandbox: Any, hook: Any) -> None:
    """The example's event trigger, run as the triggerer runs it: a product edited so that its
    stock is at or below its critical amount makes one event; products that changed but are not
    low make none."""
    import asyncio

    from airflow.sdk import Asset

    restock_file = load("altegio_restock.py", "altegio_restock")
    asset = restock_file.timetable.asset_condition
    assert isinstance(asset, Asset)
    trigger = asset.watchers[0].trigger
    trigger.poke_interval = 0.2

    location = altegio_sandbox.location_ids[0]
    catalogue = list(hook.iter_products(location))
    plenty = next(p for p in catalogue if sum(a.amount for a in p.actual_amounts) > 5)
    hook.update_product(plenty.good_id, {"critical_amount": 0}, location)  # changed, not low

    async def first_event() -> Any:
        events = trigger.run()
        first = await anext(events)
        await events.aclose()
        return first

    async def scenario() -> Any:
        waiting = asyncio.create_task(first_event())
        await asyncio.sleep(1.0)  # a poll or more with only the change that is not low
        low = sum(a.amount for a in plenty.actual_amounts) + 1
        await asyncio.to_thread(hook.update_product, plenty.good_id, {"critical_amount": low}, location)
        return await asyncio.wait_for(waiting, 30)

    event = asyncio.run(scenario())
    assert event.payload["product_ids"] == [plenty.good_id]
    assert event.payload["count"] == 1


# --------------------------------------------------------------------------------------------
# altegio_write_off
# --------------------------------------------------------------------------------------------


@pytest.fixture
def stocktake(altegio_sandbox: Any, hook: Any) -> dict[str, Any]:
    """Products with stock at the first location: two on the shelf, one professional in the back."""
    location = altegio_sandbox.location_ids[0]
    storages = hook.list_storages(location)
    retail = next(s.id for s in storages if s.for_sale)
    back = next(s.id for s in storages if s.for_services)
    catalogue = sorted(products(hook, location).values(), key=lambda p: p.good_id)
    shelf = [p for p in catalogue if p.amount_in(retail) >= 3]
    professional = [
        p for p in catalogue if p.amount_in(back) >= 2 and not p.amount_in(retail) and p.unit_equals > 1
    ]
    return {
        "location": location,
        "retail": retail,
        "back": back,
        "a": shelf[0],
        "b": shelf[1],
        "pro": professional[0],
    }


def test_write_off_one_document_per_storage_with_units(
    altegio_sandbox: Any, hook: Any, run_dag: Any, xcom: Any, stocktake: dict[str, Any]
) -> None:
    s = stocktake
    a, b, pro = s["a"], s["b"], s["pro"]
    half = pro.unit_equals / 2  # in the service unit (ml or g): half a bottle
    lines = [
        {"barcode": a.barcode, "amount": 2, "reason": "broken in delivery"},
        {"article": b.article, "amount": 1, "reason": "past its expiry date"},
        {"code": a.article, "amount": 1, "reason": "broken in delivery"},  # same product, added up
        {
            "article": pro.article,
            "amount": half,
            "unit": "service",
            "storage_id": s["back"],
            "reason": "spilled",
        },
    ]
    dag_run = run_dag(
        load("altegio_write_off.py", "altegio_write_off"),
        run_conf={"location_id": s["location"], "lines": lines, "reason_prefix": "Stocktake"},
    )
    assert dag_run.state == "success", failed_tasks(dag_run)

    created = sorted(documents(altegio_sandbox, WRITE_OFF), key=lambda d: d["storage_id"])
    assert [d["storage_id"] for d in created] == sorted([s["retail"], s["back"]])
    by_storage = {d["storage_id"]: d for d in created}
    assert by_storage[s["retail"]]["comment"].startswith(
        "Stocktake: broken in delivery x2; past its expiry date [airflow:"
    )
    assert by_storage[s["back"]]["comment"].startswith("Stocktake: spilled [airflow:")
    retail_lines = transactions_of(altegio_sandbox, by_storage[s["retail"]])
    assert sorted((t["good_id"], t["amount"], t["comment"]) for t in retail_lines) == sorted(
        [
            (a.good_id, -2, "broken in delivery"),
            (b.good_id, -1, "past its expiry date"),
            (a.good_id, -1, "broken in delivery"),
        ]
    )
    (pro_line,) = transactions_of(altegio_sandbox, by_storage[s["back"]])
    assert pro_line["operation_unit_type"] == 2
    assert pro_line["amount"] == pytest.approx(-half)

    loc = s["location"]
    assert hook.get_product(a.good_id, loc).amount_in(s["retail"]) == pytest.approx(
        a.amount_in(s["retail"]) - 3
    )
    assert hook.get_product(b.good_id, loc).amount_in(s["retail"]) == pytest.approx(
        b.amount_in(s["retail"]) - 1
    )
    # Half a bottle in ml is half a unit of stock (stock is kept in the sale unit).
    assert hook.get_product(pro.good_id, loc).amount_in(s["back"]) == pytest.approx(
        pro.amount_in(s["back"]) - 0.5
    )
    assert [xcom(dag_run, "create_write_off", map_index=i)["created"] for i in range(2)] == [True, True]


def _bad_lines(s: dict[str, Any]) -> list[dict[str, Any]]:
    a, b = s["a"], s["b"]
    return [
        {"barcode": a.barcode, "amount": 1, "reason": "broken"},  # good
        {"barcode": "0000000000000", "amount": 1, "reason": "unknown"},
        {"article": b.article, "amount": b.amount_in(s["retail"]) + 5, "reason": "too many"},
        {"article": b.article, "amount": 0, "reason": "zero"},
        {"code": a.article, "amount": "two", "reason": "not a number"},
    ]


def test_write_off_bad_lines_stop_the_batch(
    altegio_sandbox: Any, hook: Any, run_dag: Any, stocktake: dict[str, Any]
) -> None:
    dag = load("altegio_write_off.py", "altegio_write_off")
    dag_run = run_dag(dag, run_conf={"location_id": stocktake["location"], "lines": _bad_lines(stocktake)})
    assert dag_run.state == "failed"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["check_lines_against_stock"] == "failed"
    assert states["create_write_off"] in ("upstream_failed", None)
    assert documents(altegio_sandbox, WRITE_OFF) == []
    a = stocktake["a"]
    assert hook.get_product(a.good_id, stocktake["location"]).amount_in(stocktake["retail"]) == a.amount_in(
        stocktake["retail"]
    )


def test_write_off_check_reports_every_bad_line(
    altegio_sandbox: Any, hook: Any, stocktake: dict[str, Any]
) -> None:
    """The error names each bad line and why (the check task's callable, run directly)."""
    from airflow.sdk.exceptions import AirflowFailException

    dag = load("altegio_write_off.py", "altegio_write_off")
    params = {
        "location_id": stocktake["location"],
        "storage_id": None,
        "skip_bad_lines": False,
        "lines": _bad_lines(stocktake),
        "csv_path": None,
    }
    lines = dag.get_task("read_write_off_lines").python_callable(params=params)
    matched = dag.get_task("match_lines_to_products").python_callable(lines, params=params)
    with pytest.raises(AirflowFailException) as failure:
        dag.get_task("check_lines_against_stock").python_callable(matched, params=params)
    message = str(failure.value)
    assert message.startswith("4 of 5 write-off lines are bad; nothing was written off.")
    assert "params line 2 (0000000000000): no product with barcode '0000000000000'" in message
    assert "params line 3 (" in message
    assert "on hand in Retail shelf" in message
    assert "params line 4 (" in message
    assert "amount must be greater than 0" in message
    assert "params line 5 (" in message
    assert "amount 'two' is not a number" in message
    assert "params line 1" not in message


def test_write_off_can_skip_bad_lines(
    altegio_sandbox: Any, hook: Any, run_dag: Any, stocktake: dict[str, Any]
) -> None:
    dag_run = run_dag(
        load("altegio_write_off.py", "altegio_write_off"),
        run_conf={
            "location_id": stocktake["location"],
            "lines": _bad_lines(stocktake),
            "skip_bad_lines": True,
        },
    )
    assert dag_run.state == "success", failed_tasks(dag_run)
    (document,) = documents(altegio_sandbox, WRITE_OFF)
    (line,) = transactions_of(altegio_sandbox, document)
    assert (line["good_id"], line["amount"]) == (stocktake["a"].good_id, -1)


def test_write_off_from_csv(
    altegio_sandbox: Any, hook: Any, run_dag: Any, stocktake: dict[str, Any], tmp_path: Path
) -> None:
    a, pro = stocktake["a"], stocktake["pro"]
    csv_file = tmp_path / "stocktake.csv"
    csv_file.write_text(
        "code,amount,reason,unit,storage_id\n"
        f"{a.barcode},1,damaged box,,\n"
        f"{pro.article},{pro.unit_equals:g},used up,service,{stocktake['back']}\n"
    )
    dag_run = run_dag(
        load("altegio_write_off.py", "altegio_write_off"),
        run_conf={"location_id": stocktake["location"], "csv_path": str(csv_file)},
    )
    assert dag_run.state == "success", failed_tasks(dag_run)
    assert sorted(d["storage_id"] for d in documents(altegio_sandbox, WRITE_OFF)) == sorted(
        [stocktake["retail"], stocktake["back"]]
    )
    loc = stocktake["location"]
    assert hook.get_product(pro.good_id, loc).amount_in(stocktake["back"]) == pytest.approx(
        pro.amount_in(stocktake["back"]) - 1
    )


# --------------------------------------------------------------------------------------------
# altacolor_catalogue_sync
# --------------------------------------------------------------------------------------------


def test_catalogue_sync_updates_and_creates_by_article(
    altegio_sandbox: Any, hook: Any, run_dag: Any, tmp_path: Path
) -> None:
    """Two supplier products change today: one the salon stocks (its cost price follows), one it
    does not (it is created, once, in the supplier's category)."""
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook

    location = altegio_sandbox.location_ids[0]
    altegio = products(hook, location)
    by_article = {p.article: p for p in altegio.values()}
    with AltacolorHook() as altacolor:
        supplier = list(altacolor.iter_products([{"field": "product_id", "condition": ">", "value": "0"}]))
    known = next(item for item in supplier if item.product_code in by_article)
    new = next(item for item in supplier if item.product_code not in by_article)
    since = (datetime.now(tz=timezone.utc) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S")
    altegio_sandbox.change_supplier_product(known.product_id, price=123.45)
    altegio_sandbox.change_supplier_product(new.product_id, price=10.0)

    dag = load("altacolor_catalogue_sync.py", "altacolor_catalogue_sync")
    conf = {
        "location_id": location,
        "modified_since": since,
        "work_dir": tmp_path.as_uri(),
        "markup": 2,
        "dry_run": False,
        "create_products": True,
    }
    dag_run = run_dag(dag, run_conf=conf)
    assert dag_run.state == "success", failed_tasks(dag_run)

    assert hook.get_product(by_article[known.product_code].good_id, location).actual_cost == pytest.approx(
        123.45
    )
    created = [
        p for p in hook.iter_products(location, term=new.product_code) if p.article == new.product_code
    ]
    assert len(created) == 1
    assert created[0].actual_cost == pytest.approx(10.0)
    assert created[0].cost == pytest.approx(20.0)
    (category,) = [c for c in hook.list_categories(0, location) if c.title == "Altacolor catalogue"]
    assert created[0].category_id == category.id

    # A second run over the same changes creates nothing more (find-or-create by article).
    assert run_dag(dag, run_conf=conf).state == "success"
    assert (
        len([p for p in hook.iter_products(location, term=new.product_code) if p.article == new.product_code])
        == 1
    )
    assert len([c for c in hook.list_categories(0, location) if c.title == "Altacolor catalogue"]) == 1


def test_catalogue_sync_is_a_dry_run_by_default_and_creating_is_opt_in(
    altegio_sandbox: Any, hook: Any, run_dag: Any, xcom: Any, tmp_path: Path
) -> None:
    """A first run over the whole supplier catalogue writes nothing unless asked; with writes on
    but creating off, only cost prices follow; ``suppliers`` narrows what is considered."""
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook

    location = altegio_sandbox.location_ids[0]
    by_article = {p.article: p for p in products(hook, location).values()}
    with AltacolorHook() as altacolor:
        supplier = list(altacolor.iter_catalogue())
    known = next(item for item in supplier if item.product_code in by_article)
    other_supplier = next(item for item in supplier if item.supplier != known.supplier)
    altegio_sandbox.change_supplier_product(known.product_id, price=77.7)
    altegio_sandbox.change_supplier_product(other_supplier.product_id, price=66.6)
    before = len(products(hook, location))
    dag = load("altacolor_catalogue_sync.py", "altacolor_catalogue_sync")
    conf = {"location_id": location, "modified_since": "2000-01-01T00:00:00", "work_dir": tmp_path.as_uri()}

    dry = run_dag(dag, run_conf=conf)  # the defaults: a full first sync, as a report only
    assert dry.state == "success", failed_tasks(dry)
    report = xcom(dry, "report_catalogue_sync")
    assert report["dry_run"] is True
    assert report["create"] > 0  # what a first run would have created...
    assert len(products(hook, location)) == before  # ...and did not
    assert hook.get_product(by_article[known.product_code].good_id, location).actual_cost != pytest.approx(
        77.7
    )
    states = {ti.task_id: ti.state for ti in dry.get_task_instances()}
    assert states["update_cost_prices"] == states["create_new_products"] == "skipped"

    updating = {**conf, "dry_run": False, "suppliers": [known.supplier]}
    applied = run_dag(dag, run_conf=updating)
    assert applied.state == "success", failed_tasks(applied)
    assert hook.get_product(by_article[known.product_code].good_id, location).actual_cost == pytest.approx(
        77.7
    )
    assert len(products(hook, location)) == before  # creating was not asked for
    other = by_article.get(other_supplier.product_code)
    if other is not None:  # another supplier's product: left alone
        assert hook.get_product(other.good_id, location).actual_cost != pytest.approx(66.6)


def test_write_off_missing_csv_fails_without_retrying(tmp_path: Path) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    read = load("altegio_write_off.py", "altegio_write_off").get_task("read_write_off_lines")
    missing = tmp_path / "nope.csv"
    with pytest.raises(AirflowFailException, match=f"csv_path: {missing} does not exist"):
        read.python_callable(params={"lines": [], "csv_path": str(missing)})
