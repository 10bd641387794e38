"""``make demo``: the restock and stocktake example DAGs end to end, against the bundled sandbox.

What it does, in order:

1. starts the sandbox (a local Altegio + Altacolor server) on a free loopback port, with the
   platform's rate limits (5 requests per second, 200 per minute);
2. points the ``altegio_default`` and ``altacolor_default`` connections at it (``AIRFLOW_CONN_*``
   variables) and uses a project-local Airflow home, ``.demo/airflow_home``, with SQLite;
3. migrates the metadata database (a no-op once it is current);
4. starts an Airflow api-server on the same metadata database, with one user, ``store_manager``,
   who answers the runs' human-in-the-loop requests through Airflow's REST API, as a person
   would from the *Required actions* page: approves the order (one more on line 1), confirms
   the delivery (line 2 one short, a free sample nobody ordered) and approves the stocktake;
5. reads the stock, then runs ``altegio_restock`` and ``altegio_stocktake`` with ``dag.test()``,
   which is what ``airflow dags test`` runs: the DAG file is parsed from the dags folder and
   serialized, a run is created in the metadata database, and every task goes through the task
   runner, XCom included;
6. prints a summary read back from Airflow and the sandbox: the order, the approval, the order
   files, the delivery, the receipts, the stocktake's differences in both units and its
   documents, and the stock before and after.

Airflow's own output goes to ``.demo/logs/<step>.log``. The script exits non-zero when a step
fails (printing the end of that step's log) and always stops the sandbox. Every run starts a
fresh sandbox and new DAG runs, so running it again works; ``--reset`` also deletes ``.demo``.

``--standalone`` (``make airflow``) instead starts ``airflow standalone`` with the example DAGs
and the same sandbox connections, for people who want the UI; Ctrl-C stops both.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / ".demo"
AIRFLOW_HOME = DEMO_DIR / "airflow_home"
LOG_DIR = DEMO_DIR / "logs"
WORK_DIR = DEMO_DIR / "work"
DAGS_FOLDER = ROOT / "example_dags"

#: A small catalogue keeps the summary short; the DAGs work the same on 100000 products.
DEMO_PRODUCTS = 60
#: The platform's documented limits, as a real salon would see them.
PLATFORM_LIMITS = {"rps": 5, "rpm": 200}

Stock = dict[tuple[int, int], dict[str, Any]]  # (location_id, good_id) -> product as the API shows it


class StepFailed(Exception):
    """A step of the demo failed; the message says which and where its log is."""


# --------------------------------------------------------------------------------------------
# Airflow plumbing
# --------------------------------------------------------------------------------------------


def configure_airflow(*, keep_settings: bool) -> None:
    """Point this process (and ``airflow standalone``) at the demo's Airflow home and DAGs.

    Runs before anything imports Airflow (the sandbox does, through the provider's models), since
    Airflow reads its configuration on import. The demo is hermetic: no setting of the caller's
    leaks in. ``airflow standalone`` (``keep_settings``) keeps the caller's ``AIRFLOW__*``
    settings but the three it must set, and runs as many task processes as the machine has cores.
    """
    for name in [n for n in os.environ if n.startswith(("AIRFLOW_CONN_", "AIRFLOW__"))]:
        if name.startswith("AIRFLOW_CONN_") or not keep_settings:
            del os.environ[name]
    if keep_settings:
        os.environ.setdefault("AIRFLOW__CORE__PARALLELISM", str(max(2, os.cpu_count() or 2)))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        }
    )


@contextmanager
def step(name: str) -> Iterator[None]:
    """Run a step with everything it prints in ``.demo/logs/<name>.log``; report how it went.

    The redirection is at the file-descriptor level, so it also catches what Airflow's log
    handlers and the sandbox's threads write.

    :raises StepFailed: the step raised (the end of its log is printed).
    """
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{name}.log"
    print(f"  {name:<18}", end="", flush=True)
    started = time.monotonic()
    saved = os.dup(1), os.dup(2)
    error: Exception | None = None
    with log_path.open("w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        except Exception as exc:
            traceback.print_exc()
            error = exc
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
    elapsed = time.monotonic() - started
    if error is not None:
        print(f"FAILED after {elapsed:.1f}s: {str(error).splitlines()[0] if str(error) else repr(error)}")
        lines = log_path.read_text(errors="replace").splitlines()
        print("\n".join(f"    | {line[:200]}" for line in _error_messages(lines) or lines[-20:]))
        raise StepFailed(f"{name} failed; full log: {log_path.relative_to(ROOT)}") from error
    print(f"ok {elapsed:6.1f}s   log: {log_path.relative_to(ROOT)}")


def _error_messages(lines: list[str]) -> list[str]:
    """The exception messages in a log, with their continuation lines (a bad-lines report has
    several), without tracebacks and without Airflow's bookkeeping around them."""
    found: list[str] = []
    for index, line in enumerate(lines):
        if line.split(":", 1)[0].endswith(("Exception", "Error")):
            found.append(line)
            for follow in lines[index + 1 : index + 50]:
                if not follow.strip() or follow.startswith(("20", "Traceback", "  File", "    ")):
                    break
                found.append(follow)
    return list(dict.fromkeys(found))


def run_dag(dag_id: str, conf: dict[str, Any]) -> str:
    """Run one example DAG with ``dag.test()`` and ``conf``; return the run id.

    Each call is a new run (its logical date is now), so the demo can run again on the same
    metadata database.

    :raises StepFailed: the DAG did not parse or the run did not succeed.
    """
    from airflow_provider_altegio.compat import DagBag

    with step(dag_id):
        dag = DagBag(dag_folder=str(DAGS_FOLDER / f"{dag_id}.py")).get_dag(dag_id)
        if dag is None:
            raise RuntimeError(f"{dag_id} did not parse")
        dag_run = dag.test(logical_date=datetime.now(tz=timezone.utc), run_conf=conf)
        if dag_run.state != "success":
            failed = sorted({ti.task_id for ti in dag_run.get_task_instances() if ti.state == "failed"})
            raise RuntimeError(f"{dag_id} run {dag_run.run_id} ended {dag_run.state}; failed: {failed}")
    return str(dag_run.run_id)


def task_results(dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> list[Any]:
    """The values a task pushed under ``key`` in a run, one per map index, in map-index order."""
    from airflow.models.xcom import XComModel
    from airflow.sdk.serde import deserialize
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(XComModel)
            .filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id, key=key)
            .order_by(XComModel.map_index)
            .all()
        )
        return [deserialize(XComModel.deserialize_value(row)) for row in rows]


# --------------------------------------------------------------------------------------------
# Reading the sandbox through the provider's hook
# --------------------------------------------------------------------------------------------


def read_stock(hook: Any, location_ids: list[int]) -> Stock:
    """Every product of the locations (one paged read per location)."""
    return {
        (location_id, product.good_id): product.to_json_dict()
        for location_id in location_ids
        for product in hook.iter_products(location_id)
    }


def amount_in(product: dict[str, Any], storage_id: int) -> float:
    """Stock of a product (as the API shows it) in one storage, in its sale unit."""
    return sum(
        float(item["amount"] or 0)
        for item in product.get("actual_amounts") or []
        if item["storage_id"] == storage_id
    )


def choose_counts(stock: Stock, location_id: int, storages: list[Any], skip: set[int]) -> list[Any]:
    """A plausible stocktake sheet made from the sandbox's own data.

    On the retail shelf: one product two short (by barcode), one as recorded (by article), one
    with a unit more than recorded. In the back room, an open professional product measured
    in its service unit (ml or g), half a sale unit short: that exercises the unit conversion.
    Products the restock just booked are left out, so each product's before/after is one story.
    """
    retail = next(s.id for s in storages if s.for_sale)
    back_room = next(s.id for s in storages if s.for_services)
    products = sorted(
        (p for (loc, good_id), p in stock.items() if loc == location_id and good_id not in skip),
        key=lambda p: p["good_id"],
    )
    on_shelf = [p for p in products if amount_in(p, retail) >= 3 and float(amount_in(p, retail)).is_integer()]
    # A professional product: kept in the back room only, used up in ml or g.
    in_back = [
        p
        for p in products
        if amount_in(p, back_room) >= 2
        and not amount_in(p, retail)
        and p.get("service_unit_id") != p.get("unit_id")
    ]
    if len(on_shelf) < 3 or not in_back:
        raise StepFailed("the sandbox data has no products with enough stock for the stocktake demo")
    short, exact, surplus, opened = on_shelf[0], on_shelf[1], on_shelf[2], in_back[0]
    in_service_units = amount_in(opened, back_room) * float(opened["unit_equals"])
    return [
        {"barcode": short["barcode"], "counted": amount_in(short, retail) - 2},
        {"article": exact["article"], "counted": amount_in(exact, retail)},
        {"article": surplus["article"], "counted": amount_in(surplus, retail) + 1},
        {
            "article": opened["article"],
            "counted": round(in_service_units - float(opened["unit_equals"]) / 2),
            "unit": "service",
            "storage_id": back_room,
        },
    ]


# --------------------------------------------------------------------------------------------
# The summary
# --------------------------------------------------------------------------------------------


def read_documents(hook: Any, documents: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each created document and its lines, read back from the sandbox."""
    out = []
    for location_id, result in documents:
        document = hook.get_storage_document(result["document_id"], location_id)
        out.append(
            {
                "location_id": location_id,
                "document": document,
                "created": result["created"],
                "lines": hook.list_document_transactions(document.id),
            }
        )
    return out


def read_back(hook: Any, restock_run: str, stocktake_run: str, locations: list[int]) -> dict[str, Any]:
    """Everything the summary shows: the runs' XComs, and the documents and stock in the sandbox."""

    def xcom(dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> list[Any]:
        return task_results(dag_id, run_id, task_id, key)

    receipt_args = xcom("altegio_restock", restock_run, "plan_receipts")[0]
    stocktake_args = xcom("altegio_stocktake", stocktake_run, "build_stocktake_documents")[0]
    pairs = {
        "receipts": zip(receipt_args, xcom("altegio_restock", restock_run, "create_receipt"), strict=True),
        "stocktake": zip(
            stocktake_args, xcom("altegio_stocktake", stocktake_run, "book_stocktake"), strict=True
        ),
    }
    return {
        "low": xcom("altegio_restock", restock_run, "find_products_to_restock")[0],
        "draft": xcom("altegio_restock", restock_run, "draft_purchase_order")[0],
        "approval": xcom("altegio_restock", restock_run, "approve_purchase_order")[0],
        "sent": xcom("altegio_restock", restock_run, "send_purchase_order")[0],
        "delivery": xcom("altegio_restock", restock_run, "check_delivery")[0],
        "outcome": xcom("altegio_restock", restock_run, "summarise_restock")[0],
        "on_order": on_order(),
        "counted": xcom("altegio_stocktake", stocktake_run, "compare_with_stock")[0],
        "stocktake_approval": xcom("altegio_stocktake", stocktake_run, "approve_stocktake")[0],
        **{
            name: read_documents(hook, [(args["location_id"], result) for args, result in pair])
            for name, pair in pairs.items()
        },
        "after": read_stock(hook, locations),
    }


def print_table(headers: list[str], rows: list[list[Any]], widths: list[int]) -> None:
    """A plain text table; a negative width aligns left."""

    def cell(value: Any, width: int) -> str:
        text = f"{value:g}" if isinstance(value, float) else str(value)
        return text[: abs(width)].ljust(-width) if width < 0 else text.rjust(width)

    for row in [headers, *rows]:
        print("  " + " ".join(cell(value, width) for value, width in zip(row, widths, strict=True)))


def print_documents(title: str, documents: list[dict[str, Any]], stock: Stock) -> None:
    print(f"\n{title}: {len(documents)}")
    for entry in documents:
        document, location_id = entry["document"], entry["location_id"]
        state = "created" if entry["created"] else "found: created by an earlier try"
        print(f"  document {document.id}, location {location_id}, storage {document.storage_id} ({state})")
        print(f"    comment: {(document.comment or '').strip()}")
        for tx in entry["lines"]:
            product = stock[(location_id, tx.good_id)]
            unit_key = "service_unit_short_title" if tx.operation_unit_type == 2 else "unit_short_title"
            unit = product.get(unit_key) or ""
            print(f"    {tx.amount:+7g} {unit:<4} {product['title'][:50]:<50} at {tx.cost_per_unit or 0:.2f}")


def print_order_steps(data: dict[str, Any]) -> None:
    """The restock's steps as separate stories: draft, approval, order sent, delivery."""
    draft, approval, sent, delivery = data["draft"], data["approval"], data["sent"], data["delivery"]
    print(
        f"\n1. Order drafted: {draft['order_id']}, {len(data['low'])} products at or below their "
        f"critical amount, {len(draft['lines'])} lines priced from Altacolor, "
        f"{len(draft['not_carried'])} not carried"
    )
    print_table(
        ["line", "location", "product", "on hand", "critical", "desired", "order", "price"],
        [
            [
                line["line"],
                line["location_id"],
                line["title"],
                line["on_hand"],
                line["critical_amount"],
                line["desired_amount"],
                f"{line['quantity']} {line['unit']}",
                f"{line['cost_per_unit']:.2f}",
            ]
            for line in draft["lines"]
        ],
        [4, 8, -46, 7, 8, 7, -7, 7],
    )
    for item in draft["not_carried"]:
        print(f"     not carried: {item['title']} (article {item['article']}): order elsewhere")
    drafted = {line["line"]: line["quantity"] for line in draft["lines"]}
    changes = {
        line["line"]: line["quantity"] for line in sent["lines"] if drafted[line["line"]] != line["quantity"]
    }
    print(
        f"\n2. Approval: {approval['chosen_options'][0]} by {approval['responded_by_user']['name']} "
        f"at {approval['responded_at']:%H:%M:%S}, in the form's number fields, through Airflow's REST API"
        + (
            "; quantities changed: " + ", ".join(f"line {k} {drafted[k]} -> {v}" for k, v in changes.items())
            if changes
            else ""
        )
    )
    print(f"\n3. Order sent: {len(sent['lines'])} lines, written to")
    for path in sent["files"]:
        print(f"     {path}")
    short = [line for line in delivery["lines"] if line["received"] < line["quantity"]]
    print(
        f"\n4. Delivery confirmed (note {delivery['note'] or '-'}): {len(delivery['lines']) - len(short)} "
        f"lines as ordered, {len(short)} short, {len(delivery['extra_items'])} not ordered"
    )
    for line in short:
        print(
            f"     short: line {line['line']} {line['title']}: "
            f"ordered {line['quantity']}, arrived {line['received']}; the rest stays on order"
        )
    for item in delivery["extra_items"]:
        print(f"     not ordered (reported, not booked): {item}")
    print("\n5. Received into stock, at the order's prices:")


def print_on_order(data: dict[str, Any]) -> None:
    """How the run ended, as its summary task says, and what stays on order (read back from the
    restock's Variables): the next runs order less, and book it against this order when it comes."""
    from airflow_provider_altegio.workflows.restock import OrderBook, OrderStore

    outcome = data["outcome"]
    print(f"\n6. Outcome: {outcome['outcome']}, {outcome['detail']}")
    back_orders = OrderBook(OrderStore(data["on_order"]), prefix="").back_orders()
    print(f"   Still on order (back-orders, in the Variables altegio_restock.on_order.*): {len(back_orders)}")
    for back in back_orders:
        print(f"     {back.label}: {back.outstanding} {back.unit or ''} to come")


def print_stocktake(data: dict[str, Any]) -> None:
    """The stocktake: each count against the stock on hand, in the unit it was counted in."""
    approval = data["stocktake_approval"]
    print("\n" + "-" * 100)
    locations = ", ".join(map(str, data["counted"]["locations"]))
    print(f"\nStocktake at location {locations}: counted against the stock on hand")
    print_table(
        ["storage", "product", "on hand", "counted", "difference"],
        [
            [
                d["storage_title"],
                d["title"],
                f"{d['on_hand']:g} {d['unit_name']}",
                f"{d['counted']:g} {d['unit_name']}",
                d["explained"],
            ]
            for d in data["counted"]["differences"]
        ],
        [-14, -46, 9, 9, -34],
    )
    print(
        f"  Approval: {approval['chosen_options'][0]} by {approval['responded_by_user']['name']}. "
        "Shortfalls are written off; the surplus is reported (book_surpluses is off)."
    )


def print_summary(data: dict[str, Any], before: Stock) -> None:
    """The products below critical, the documents with their lines, and stock before and after."""
    after = data["after"]
    print("\n" + "=" * 100 + "\nSUMMARY\n" + "=" * 100)
    print_order_steps(data)
    print_documents("Receipt documents created by altegio_restock", data["receipts"], after)
    print_on_order(data)
    print_stocktake(data)
    print_documents("Documents booked by altegio_stocktake", data["stocktake"], after)

    touched = sorted(
        {
            (entry["location_id"], tx.good_id, tx.storage_id)
            for entry in data["receipts"] + data["stocktake"]
            for tx in entry["lines"]
        }
    )
    print(f"\nStock before -> after, read back from the sandbox ({len(touched)} product/storage pairs)")
    rows = []
    for location_id, good_id, storage_id in touched:
        product = after[(location_id, good_id)]
        old = amount_in(before[(location_id, good_id)], storage_id)
        new = amount_in(product, storage_id)
        rows.append(
            [
                location_id,
                storage_id,
                product["title"],
                old,
                new,
                f"{new - old:+g}",
                product["unit_short_title"],
            ]
        )
    print_table(
        ["location", "storage", "product", "before", "after", "change", "unit"],
        rows,
        [8, 7, -50, 7, 7, 7, -4],
    )
    print()


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def store_manager(api: Any, request: Any) -> tuple[list[str], dict[str, Any]] | None:
    """What the demo's store manager answers: the form as it comes (one field per line), with
    a few changes, as a person fills it in the *Required actions* page.

    The approval orders one more on line 1; the delivery arrives one short on line 2 (when
    there is one; the missing unit stays on order) with a free sample nobody ordered.
    """
    form = dict(request.params)
    lines = [name for name in form if name.startswith("line_")]
    if request.task_id == "approve_purchase_order":
        return ["Approve"], {**form, lines[0]: form[lines[0]] + 1}
    if request.task_id == "confirm_delivery":
        short = {lines[1]: form[lines[1]] - 1} if len(lines) > 1 else {}
        extra = [{"code": "ALT-SAMPLE-50", "amount": 1, "note": "free sample, 50 ml"}]
        return ["Delivered"], {**form, **short, "extra_items": extra, "delivery_note": "DN-2026-1042"}
    if request.task_id == "approve_stocktake":
        return ["Approve"], {}
    return None


def forget_what_is_on_order() -> None:
    """Delete the restock's record of what is on order (its Variables): every demo starts a
    fresh sandbox, where nothing is on order."""
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(Variable).filter(Variable.key.startswith("altegio_restock.")).delete()


def on_order() -> dict[str, Any]:
    """The restock's records of what is on order, by Variable key."""
    import json

    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(Variable).filter(Variable.key.startswith("altegio_restock.on_order.")).all()
        return {row.key: json.loads(row.val) for row in rows}


def request_counts(sandbox: Any) -> dict[str, int]:
    """How many requests the sandbox received since its log was cleared, per API."""
    log = sandbox.requests()
    altegio = sum(1 for entry in log if entry["path"].startswith("/api/v1/"))
    return {"to Altegio": altegio, "to Altacolor": len(log) - altegio}


def catalogue_walk(products: int) -> int:
    """Requests of one walk of a location's catalogue in pages of 1000, the API's largest: a
    short first page is confirmed by one more (``PageCountPager``), a full last one by an empty one."""
    return max(products // 1000 + 1, 2)


def least_requests(
    sandbox: Any, products: int, restock_run: str, stocktake_run: str
) -> dict[str, dict[str, int]]:
    """The fewest requests each run's work allows the API, per job and API: the reads a job
    cannot do without (a walk of a catalogue in pages of 1000, the API's largest; a search or a
    lookup per code where that is fewer) and one request per document booked. A walk ends at a
    short page after a full one, or at an empty one (the API documents no maximum page size, so
    a short first page is not trusted to be the last: ``PageCountPager``)."""
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.models.altacolor import WHOLE_CATALOGUE

    locations = len(sandbox.location_ids)
    walk = catalogue_walk(products)
    shortages = task_results("altegio_restock", restock_run, "find_products_to_restock")[0]
    priced = (task_results("altegio_restock", restock_run, "price_from_supplier") or [[]])[0] or []
    receipts = len(task_results("altegio_restock", restock_run, "create_receipt"))
    with AltacolorHook() as altacolor:
        supplier_pages = math.ceil(altacolor.search_products([WHOLE_CATALOGUE], limit=0).total / 100)
    counted = task_results("altegio_stocktake", stocktake_run, "compare_with_stock")[0]["differences"]
    booked = len(task_results("altegio_stocktake", stocktake_run, "book_stocktake"))
    return {
        "altegio_restock": {
            "to Altegio": locations * (1 + walk) + receipts,  # storages and the catalogue, per location
            "to Altacolor": min(len(shortages), supplier_pages) + math.ceil(len(priced) / 100),
        },
        "altegio_stocktake": {"to Altegio": 1 + min(len(counted), walk) + booked, "to Altacolor": 0},
    }


def demo(stack: ExitStack, products: int = DEMO_PRODUCTS, requests_json: Path | None = None) -> None:
    """The restock and stocktake runs against a fresh sandbox, then the summary; with
    ``requests_json``, the requests each run made and the fewest it could have are written there."""
    from airflow_provider_altegio.sandbox.testing import run_sandbox

    print("Starting the sandbox ...", flush=True)
    sandbox = stack.enter_context(run_sandbox(products=products, **PLATFORM_LIMITS))
    print(f"  altegio   {sandbox.altegio_url}\n  altacolor {sandbox.altacolor_url}")
    os.environ.update(sandbox.env())
    print(f"Airflow home {AIRFLOW_HOME.relative_to(ROOT)}, DAGs from {DAGS_FOLDER.relative_to(ROOT)}/")
    with step("db-migrate"):
        from airflow.utils.db import upgradedb

        upgradedb()  # what `airflow db migrate` runs

    from airflow_provider_altegio.hooks.altegio import AltegioHook
    from airflow_provider_altegio.sandbox.airflow_api import answering, run_api_server

    with step("api-server"):
        # The store manager answers approvals through Airflow's REST API, as from the UI.
        api = stack.enter_context(run_api_server(user="store_manager"))
    hook = stack.enter_context(AltegioHook())
    locations = list(sandbox.location_ids)
    before = read_stock(hook, locations)
    forget_what_is_on_order()

    sandbox.clear_requests()
    with answering(api, store_manager):
        restock_run = run_dag("altegio_restock", {"location_ids": locations, "work_dir": WORK_DIR.as_uri()})
    requests = {"altegio_restock": request_counts(sandbox)}
    restocked = {
        line["good_id"]
        for line in task_results("altegio_restock", restock_run, "find_products_to_restock")[0]
    }

    # That evening's stocktake at the first location, approved by the same manager.
    location_id = locations[0]
    counts = choose_counts(
        read_stock(hook, [location_id]), location_id, hook.list_storages(location_id), restocked
    )
    sandbox.clear_requests()
    with answering(api, store_manager):
        stocktake_run = run_dag("altegio_stocktake", {"location_id": location_id, "counts": counts})
    requests["altegio_stocktake"] = request_counts(sandbox)
    with step("read-back"):
        data = read_back(hook, restock_run, stocktake_run, locations)
    print_summary(data, before)
    print("Requests each run made, as the account's rate budget counts them (5/s, 200/min):")
    least = least_requests(sandbox, products, restock_run, stocktake_run)
    for dag_id, counts_by_api in requests.items():
        made = ", ".join(f"{n} {api_name}" for api_name, n in counts_by_api.items())
        fewest = ", ".join(f"{n} {api_name}" for api_name, n in least[dag_id].items())
        print(f"  {dag_id:<18} {made} (the fewest the work allows: {fewest})")
    print()
    if requests_json is not None:
        other_made, other_least = other_examples(sandbox, hook, locations, products)
        figures = {"made": {**requests, **other_made}, "least": {**least, **other_least}}
        requests_json.write_text(json.dumps({"products": products, **figures}, indent=2))


def other_examples(
    sandbox: Any, hook: Any, locations: list[int], products: int
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """For ``make bench``: the write-off (five damaged products) and the catalogue sync (a dry
    run over the whole supplier catalogue and every location), each run's requests per API and
    the fewest its work allows, as :func:`least_requests` counts them."""
    location_id = locations[0]
    retail = next(s.id for s in hook.list_storages(location_id) if s.for_sale)
    on_shelf = [p for p in read_stock(hook, [location_id]).values() if amount_in(p, retail) >= 1]
    lines = [{"code": p["article"], "amount": 1} for p in on_shelf[:5]]
    sandbox.clear_requests()
    write_off_run = run_dag("altegio_write_off", {"lines": lines, "location_id": location_id})
    made = {"altegio_write_off": request_counts(sandbox)}
    sandbox.clear_requests()
    sync_run = run_dag(
        "altacolor_catalogue_sync",
        {"location_ids": locations, "modified_since": "2000-01-01T00:00:00", "work_dir": WORK_DIR.as_uri()},
    )
    made["altacolor_catalogue_sync"] = request_counts(sandbox)

    walk = catalogue_walk(products)
    documents = len(task_results("altegio_write_off", write_off_run, "create_write_off"))
    supplier = task_results("altacolor_catalogue_sync", sync_run, "read_supplier_products")[0]["count"]
    least = {
        # the location's storages, the codes (a search each, or a walk), a document per storage
        "altegio_write_off": {"to Altegio": 1 + min(len(lines), walk) + documents, "to Altacolor": 0},
        "altacolor_catalogue_sync": {  # a catalogue walk per location; the supplier's search and details
            "to Altegio": len(locations) * walk,
            "to Altacolor": max(math.ceil(supplier / 100), 1) + math.ceil(supplier / 100),
        },
    }
    return made, least


def store_connections(sandbox: Any) -> None:
    """Save the sandbox's connections in the metadata database, where the UI lists them (and
    people can edit and test them), replacing the ones of an earlier run."""
    from airflow.models.connection import Connection
    from airflow.utils import db
    from airflow.utils.session import create_session

    db.initdb()
    with create_session() as session:
        for conn_id, value in sandbox.env().items():
            conn = Connection.from_json(value, conn_id=conn_id.removeprefix("AIRFLOW_CONN_").lower())
            session.query(Connection).filter(Connection.conn_id == conn.conn_id).delete()
            session.add(conn)


def standalone(stack: ExitStack) -> None:
    """``airflow standalone`` on the example DAGs, wired to a sandbox that lives as long as it."""
    from airflow_provider_altegio.sandbox.testing import run_sandbox

    sandbox = stack.enter_context(run_sandbox(**PLATFORM_LIMITS))
    store_connections(sandbox)
    # The example DAGs' location fields become lists to pick from (read when they are parsed).
    os.environ["ALTEGIO_LOCATIONS"] = ", ".join(
        f"{loc['id']}={loc['title'].replace(',', ' ')}"
        for loc in sandbox.info()["locations"]
        if loc["accessible"]
    )
    print(f"Sandbox: altegio {sandbox.altegio_url}, altacolor {sandbox.altacolor_url}")
    print(f"Airflow home {AIRFLOW_HOME}, DAGs from {DAGS_FOLDER}. Ctrl-C stops Airflow and the sandbox.")
    # standalone starts its components as `airflow ...` commands: make this venv's come first.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    # Its own process group, so that stopping reaches every component it started.
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow", "standalone"], cwd=ROOT, start_new_session=True
    )
    signal.signal(signal.SIGTERM, _raise_interrupt)  # `kill` stops it as cleanly as Ctrl-C
    try:
        code = process.wait()
    except KeyboardInterrupt:
        print("Stopping Airflow ...", flush=True)
        _stop_group(process)
        return
    if code != 0:
        raise StepFailed(f"airflow standalone exited with {code}")


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop ``airflow standalone`` and its components: Ctrl-C first, then SIGTERM, then SIGKILL."""
    for sig, grace in ((signal.SIGINT, 30), (signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            process.poll()
            try:
                os.killpg(process.pid, 0)  # anyone left in the group?
            except ProcessLookupError:
                return
            time.sleep(0.5)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--standalone", action="store_true", help="start airflow standalone instead")
    parser.add_argument("--reset", action="store_true", help="delete .demo (metadata DB, logs) first")
    parser.add_argument("--products", type=int, default=DEMO_PRODUCTS, help="catalogue size per location")
    parser.add_argument("--requests-json", type=Path, help="write the requests per run there (make bench)")
    args = parser.parse_args(argv)
    if args.reset and DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    configure_airflow(keep_settings=args.standalone)
    with ExitStack() as stack:  # stops the sandbox (and closes the hook) however we leave
        try:
            if args.standalone:
                standalone(stack)
            else:
                demo(stack, args.products, args.requests_json)
        except StepFailed as exc:
            print(f"\nThe demo failed: {exc}", file=sys.stderr)
            return 1
        finally:
            print("Stopping the sandbox.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
