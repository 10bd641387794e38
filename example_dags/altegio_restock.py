"""Restock every storage of a salon chain from the supplier, the way a purchase really happens.

``altegio_restock`` runs every morning *and* whenever stock runs low: the ``altegio_low_stock``
asset has an ``AssetWatcher`` whose ``ProductChangeEventTrigger`` polls the changed products of
the connection's default location in the triggerer (no task, no worker slot) and records an
asset event when a product changed and is at or below its ``critical_amount``.

1. **Draft the order.** For each location (mapped), ``LowStockReportOperator`` finds the products
   at or below their ``critical_amount`` with the whole sale units that bring each back to its
   ``desired_amount``, less what is **already on order**. Each line is priced from Altacolor's
   detailed catalogue (the variant whose SKU code is the Altegio ``article`` or ``barcode``);
   what Altacolor does not carry is listed, to order elsewhere.
2. **A person approves.** ``approve_purchase_order`` shows the order in *Required actions*: one
   number field per line, labelled with its product (0 drops the line), Approve or Reject.
   Nothing is sent or booked before that. When the product whose running low started the run
   is not in the order, the form says so at its top.
3. **Send the order.** Altacolor's API has no order endpoint, so the approved order is written as
   ``order.csv`` (for the supplier) and ``order.md`` (the summary) under the ``work_dir`` param
   (any ``ObjectStoragePath``: ``s3://...`` when workers run on several machines). With the
   ``order_email`` param set, both go by e-mail through the ``smtp_default`` connection.
4. **Wait for the delivery.** ``confirm_delivery`` asks what arrived, line by line (default: as
   ordered), with what arrived of earlier orders' back-orders; **Cancelled** when the order was
   cancelled. What did not arrive stays on order.
5. **Book what arrived**, one receipt per storage at the order's prices, exactly once: each
   receipt is a mapped ``CreateStorageOperationOperator``, which stamps a key of its task
   instance into the document and looks for it before creating again.
6. **Summarise.** ``summarise_restock`` says how the run ended (delivered, rejected, cancelled,
   nothing to order) in its first log line and its XCom, and updates what is on order.

An answer a form cannot use (2.5 bottles, a line the order does not have) is not lost and does
not fail the run: the form is asked again at once, as a new request with the problem at its
top (each form is a task mapped over a few rounds, run one at a time).

**What is on order** is kept in Airflow Variables, ``altegio_restock.on_order.<order id>``: in
the metadata database, so every worker and run sees them. What a delivery left short is taken
off the next orders and booked against its first order when it comes, in any later delivery
form; when it comes on its own, trigger with ``back_orders_only``.

**Runs do not wait for each other**: a run triggered by hand for the whole chain starts at
once, whatever a scheduled run waits for. Drafting is one run at a time
(``max_active_tis_per_dag=1``) and counts what the others have on order, so nothing is ordered
twice. Set ``ALTEGIO_LOCATIONS`` (``1001=Downtown, 1002=Uptown``) where the dag processor and
API server run to pick ``location_ids`` from a list.

Units. Altegio keeps stock, ``critical_amount`` and ``desired_amount`` in the product's *sale*
unit (a bottle, a box). Masters use products up in the *service* unit (ml, g), and
``unit_equals`` service units make one sale unit, so stock is often fractional (2.4 bottles).
Suppliers sell whole sale units, so orders are whole sale units, booked with
``operation_unit_type=1`` at the supplier's price per sale unit.

Nothing here touches a connection or the network when the file is parsed; every call happens
inside a task.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import (
    Asset,
    AssetWatcher,
    Param,
    dag,
    task,
)

from airflow_provider_altegio.compat import AIRFLOW_V_3_3_PLUS, AssetOrTimeSchedule, CronTriggerTimetable
from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator, LowStockReportOperator
from airflow_provider_altegio.triggers.products import ProductChangeEventTrigger
from airflow_provider_altegio.workflows.stocklists import location_choices, location_param

#: An event whenever a product of the default location changed and is at or below its critical
#: amount; ``altegio_restock`` listens. The trigger builds no hook and makes no request at parse.
ALTEGIO_LOW_STOCK = Asset(
    name="altegio_low_stock",
    uri="altegio://default/low-stock",
    watchers=[
        AssetWatcher(
            name="altegio_low_stock_watcher",
            trigger=ProductChangeEventTrigger(
                conn_id="altegio_default", at_or_below_critical=True, poke_interval=300
            ),
        )
    ],
)

#: Updated by every receipt the restock books (the operator adds the document id to the event).
ALTEGIO_RECEIPTS = Asset(name="altegio_receipts", uri="altegio://default/receipts")

log = logging.getLogger("altegio_restock")  # __name__ is mangled when Airflow imports DAG files

START = pendulum.datetime(2026, 1, 1, tz="UTC")
APPROVAL_WAIT = timedelta(days=3)
DELIVERY_WAIT = timedelta(days=21)

#: This run's folder under the ``work_dir`` param: the supplier catalogue and the order files.
RUN_DIR = "{{ params.work_dir }}/{{ dag.dag_id }}/{{ run_id | replace(':', '-') }}"

#: How many times a form is asked, each time as a new request (a mapped task instance) that
#: says at its top what was wrong with the answer before. The last one, given an answer it
#: cannot use either, is asked again as it is: no answer ends the run.
ROUNDS = 5
#: How a round that accepted an answer is labelled, by the option chosen.
OUTCOMES = {"Approve": "approved", "Reject": "rejected", "Delivered": "delivered", "Cancelled": "cancelled"}
#: A form nobody answered in time fails its task: asking again would not change that (retry
#: policies are Airflow 3.3's; before, such a task is retried like any other).
TIMEOUT_FAILS: dict[str, Any] = {}
if AIRFLOW_V_3_3_PLUS:
    from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy, RetryAction, RetryRule

    TIMEOUT_FAILS["retry_policy"] = ExceptionRetryPolicy(
        rules=[
            RetryRule(
                exception=[
                    "airflow.providers.standard.exceptions.HITLTimeoutError",
                    "airflow.providers.standard.exceptions.HITLTriggerEventError",
                ],
                action=RetryAction.FAIL,
            )
        ]
    )


def _order_book() -> Any:
    from airflow_provider_altegio.workflows.restock import OrderBook, VariableOrderStore

    return OrderBook(VariableOrderStore(), approval_wait=APPROVAL_WAIT, delivery_wait=DELIVERY_WAIT)


def accepted(rounds: Any) -> dict[str, Any] | None:
    """The answer a form accepted, from the XComs of its rounds (see ``_AsksAgain``)."""
    return next((r for r in rounds or [] if r and r["outcome"] == "accepted"), None)


class _AsksAgain(HITLOperator):
    """A human-in-the-loop form built when its task runs (``form``), whose answer ``check``
    reads, asked in rounds: the task is mapped over ``range(rounds)`` and runs one round at a
    time (``max_active_tis_per_dagrun=1``). Round 0 asks. An answer with problems ends its round
    ``refused``; the next round asks again as a new request, the problems at its top and the
    rest of the answer kept (a request's text is fixed once it is made, so only a new task
    instance can say what was wrong). Once a round ``accepted`` an answer, the rounds after it
    end at once, ``not needed``. Each round's XCom says which (``outcome``).
    """

    def __init__(self, *, round: int = 0, rounds: int = ROUNDS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.round, self.rounds = round, rounds
        self.round_label = "asked" if round == 0 else f"asked again ({round + 1})"

    def form(self, context: Any) -> Any:  # -> restock.Form
        raise NotImplementedError

    def check(self, context: Any, chosen: list[str], answer: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def execute(self, context: Any) -> Any:
        from airflow.sdk import timezone
        from airflow.sdk.definitions.param import ParamsDict

        from airflow_provider_altegio.compat import AirflowRescheduleException, AirflowSkipException

        ti = context["ti"]
        if self.round:
            before = {"map_index": self.round - 1, "task_ids": [self.task_id], "run_ids": [ti.run_id]}
            if not ti.get_ti_count(ti.dag_id, states=["success"], **before):
                if ti.get_ti_count(ti.dag_id, states=["failed", "upstream_failed", "skipped"], **before):
                    raise AirflowSkipException("The round before ended without an answer (timed out)")
                # It still asks: only a runner that ignores max_active_tis_per_dagrun (dag.test) gets here.
                raise AirflowRescheduleException(timezone.utcnow() + timedelta(seconds=2))
        earlier = [ti.xcom_pull(task_ids=self.task_id, map_indexes=i) for i in range(self.round)]
        if accepted(earlier) is not None:
            self.round_label = "not needed"
            return {"round": self.round, "outcome": "not needed"}
        refused = earlier[-1] if earlier else {}
        form = self.form(context)
        kept = refused.get("answer") or {}
        self.params = ParamsDict(
            {name: _param(kept.get(name, spec.default), spec) for name, spec in form.fields.items()}
        )
        problems = "".join(f"> - {problem}\n" for problem in refused.get("problems", []))
        self.body = (
            f"> **Your last answer was not accepted:**\n{problems}\n" if problems else ""
        ) + form.body
        if problems:
            self.subject = f"{self.subject} (asked again)"
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        if "error" in event:  # nobody answered in time
            return super().execute_complete(context, event)
        answer = event.get("params_input") or {}
        problems = self.check(context, event["chosen_options"], answer)
        if not problems:  # the label says it in the run's task list: "approved", "cancelled"...
            self.round_label = OUTCOMES.get(event["chosen_options"][0], "answered")
            return {"round": self.round, "outcome": "accepted", **super().execute_complete(context, event)}
        log.warning("The answer was not accepted:\n%s", "\n".join(f"  {p}" for p in problems))
        if self.round + 1 < self.rounds:
            self.round_label = "not accepted"
            return {
                "round": self.round,
                "outcome": "refused",
                "problems": problems,
                "answer": answer,
                "chosen_options": event["chosen_options"],
                "responded_by_user": event.get("responded_by_user"),
                "responded_at": event.get("responded_at"),
            }
        return self.execute(context)  # the last round: the same request, open again

    def validate_params_input(self, params_input: Any) -> None:
        """Done by ``check``, which names every problem at once."""


def _param(value: Any, spec: Any) -> Param:
    """A form field as a ``Param``; ``value`` (a refused answer's) only where it fits."""
    field = Param(spec.default, title=spec.title, description=spec.description, **spec.schema)
    if value is not spec.default and Param(value, **spec.schema).resolve(suppress_exception=True) is not None:
        field.value = value
    return field


class PurchaseOrderApproval(_AsksAgain):
    """Approve or reject the drafted order, one number field per line (with no lines, only
    back-orders to receive, there is nothing to approve and nobody is asked)."""

    def form(self, context: Any) -> Any:
        from airflow_provider_altegio.workflows.restock import PurchaseOrder

        return PurchaseOrder.model_validate(
            context["ti"].xcom_pull(task_ids="draft_purchase_order")
        ).approval_form()

    def check(self, context: Any, chosen: list[str], answer: dict[str, Any]) -> list[str]:
        if chosen != ["Approve"]:
            return []
        from airflow_provider_altegio.workflows.restock import PurchaseOrder

        draft = PurchaseOrder.model_validate(context["ti"].xcom_pull(task_ids="draft_purchase_order"))
        return draft.read_approval(answer)[1]

    def execute(self, context: Any) -> Any:
        if self.round == 0 and not self.form(context).fields:
            from airflow.sdk import timezone

            log.info("Nothing new to order (back-orders only): nothing to approve")
            self.round_label = "nothing to approve"
            return {
                "round": 0,
                "outcome": "accepted",
                "chosen_options": ["Approve"],
                "params_input": {},
                "responded_at": timezone.utcnow(),
                "responded_by_user": {"id": "", "name": "nobody: nothing to approve"},
            }
        return super().execute(context)


class DeliveryConfirmation(_AsksAgain):
    """Confirm what arrived of the sent order (and of earlier back-orders), or that it was
    cancelled; back-orders are checked against what is on order when the answer comes."""

    def form(self, context: Any) -> Any:
        from airflow_provider_altegio.workflows.restock import PurchaseOrder

        return PurchaseOrder.model_validate(
            context["ti"].xcom_pull(task_ids="send_purchase_order")
        ).delivery_form()

    def check(self, context: Any, chosen: list[str], answer: dict[str, Any]) -> list[str]:
        from airflow_provider_altegio.workflows.restock import PurchaseOrder

        sent = PurchaseOrder.model_validate(context["ti"].xcom_pull(task_ids="send_purchase_order"))
        outstanding = _order_book().outstanding() if sent.back_orders else {}
        return sent.read_delivery(chosen, answer, outstanding)[1]


def _ask(operator: type[_AsksAgain], **kwargs: Any) -> Any:
    """``operator`` in rounds: mapped, one round at a time, labelled by how each went."""
    return operator.partial(
        rounds=ROUNDS,
        max_active_tis_per_dagrun=1,
        map_index_template="{{ task.round_label }}",
        **TIMEOUT_FAILS,
        **kwargs,
    ).expand(round=list(range(ROUNDS)))


@dag(
    dag_id="altegio_restock",
    description="Order what is low (less what is on order) from the supplier, with approval; book what "
    "is delivered. Runs do not wait for each other: a manual run for the chain starts at once.",
    # Every morning at 06:00 UTC, and also as soon as the watcher above sees stock run low.
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"),
        assets=ALTEGIO_LOW_STOCK,
    ),
    start_date=START,
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    params={
        "location_ids": Param(
            **location_param(location_choices(), multiple=True),
            title="Locations",
            description="Locations to restock. Empty: the location_id of the altegio_default connection.",
        ),
        "back_orders_only": Param(
            False,
            type="boolean",
            title="Only receive back-orders",
            description="Order nothing new: confirm a delivery of what earlier orders still have on order.",
        ),
        "master_id": Param(
            None,
            type=["null", "integer"],
            title="Team member",
            description="Who books the receipts. Empty: the master_id of the altegio_default connection.",
        ),
        "work_dir": Param(
            "file:///tmp/altegio_restock",
            type="string",
            title="Working directory",
            description=(
                "Where the supplier catalogue and the order files go (any ObjectStoragePath URL; "
                "use shared storage such as s3://bucket/prefix when workers run on several machines)."
            ),
        ),
        "order_email": Param(
            None,
            type=["null", "string"],
            title="Send the order to",
            description="E-mail address(es), comma-separated, for the approved order (smtp_default). "
            "Empty: the order is only written to the working directory.",
        ),
    },
    tags=["altegio", "altacolor", "inventory", "example"],
    doc_md=__doc__,
)
def altegio_restock() -> None:
    @task
    def resolve_locations(params: dict[str, Any]) -> list[int]:
        """The locations to restock: the ``location_ids`` param, else the connection's default."""
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        with AltegioHook() as hook:
            return hook.resolve_location_ids(params["location_ids"])

    locations = resolve_locations()

    # One mapped task instance per location: its products at or below their critical amount,
    # with the whole sale units to order (AltegioHook.low_stock reads the catalogue page by page).
    reports = LowStockReportOperator.partial(
        task_id="low_stock_report", map_index_template="location {{ task.location_id }}"
    ).expand(location_id=locations)

    @task
    def find_products_to_restock(reports: Any) -> list[dict[str, Any]]:
        """Every location's low-stock lines in one list."""
        lines = [line for report in reports[:] for line in report]  # one request for every map index
        log.info("%d products at or below their critical amount", len(lines))
        return lines

    shortages = find_products_to_restock(reports.output)

    @task.branch
    def anything_to_restock(lines: list[dict[str, Any]], params: dict[str, Any]) -> list[str]:
        """Price the shortages; only draft (the back-orders) with ``back_orders_only``; or
        nothing, when every product is above critical (the run then only summarises)."""
        if params["back_orders_only"]:
            return ["draft_purchase_order"]
        return ["price_from_supplier", "draft_purchase_order"] if lines else []

    @task
    def price_from_supplier(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The supplier's products (variants and prices) of the shortages' codes, at the fewest
        requests: a search per code for a short list, one walk of the catalogue for a long one,
        then details of those found only (``workflows.catalogue.supplier_details``)."""
        from airflow_provider_altegio.hooks.altacolor import AltacolorHook
        from airflow_provider_altegio.workflows.catalogue import supplier_details

        with AltacolorHook() as hook:
            found = supplier_details(hook, [line.get("article") or line.get("barcode") for line in lines])
        return [product.to_json_dict() for product in found]

    supplier_products = price_from_supplier(shortages)

    # One draft at a time across runs: each counts what the others have on order.
    @task(multiple_outputs=False, trigger_rule="none_failed_min_one_success", max_active_tis_per_dag=1)
    def draft_purchase_order(
        shortages: list[dict[str, Any]],
        supplier: list[dict[str, Any]] | None,
        params: dict[str, Any],
        run_id: str | None = None,
        triggering_asset_events: Any = None,
    ) -> dict[str, Any]:
        """The order to approve: each shortage, less what is on order, priced from the supplier's
        products; what the supplier does not carry; the back-orders of earlier orders. Counted as
        on order from now on."""
        from airflow_provider_altegio.models.altacolor import AltacolorProductDetailed
        from airflow_provider_altegio.workflows.restock import PurchaseOrder

        order_id = "PO-" + hashlib.sha256(str(run_id).encode()).hexdigest()[:8].upper()
        book = _order_book()
        if params["back_orders_only"] or supplier is None:
            order = PurchaseOrder.draft(order_id, [], [], back_orders=book.back_orders(exclude=order_id))
        else:
            order = PurchaseOrder.draft(
                order_id,
                shortages,
                [AltacolorProductDetailed.model_validate(product) for product in supplier],
                on_order=book.on_order(exclude=order_id),
                back_orders=book.back_orders(exclude=order_id),
            )
        for events in (triggering_asset_events or {}).values():
            for event in events:
                payload = (event.extra or {}).get("payload") or {}
                order = order.note_trigger(payload.get("location_id"), payload.get("product_ids") or [])
        for notice in order.notices:
            log.warning("%s", notice)
        if order.not_carried:
            log.warning(
                "%d products need restocking but Altacolor does not carry them; order them elsewhere:\n%s",
                len(order.not_carried),
                "\n".join(f"  {item.title} (article {item.article})" for item in order.not_carried),
            )
        book.reserve(order)
        log.info(
            "Drafted %s: %d lines, total %.2f; %d covered by what is on order, %d back-orders open",
            order_id,
            len(order.lines),
            order.total,
            len(order.covered),
            len(order.back_orders),
        )
        return {**order.model_dump(mode="json"), "markdown": order.to_markdown()}

    draft = draft_purchase_order(shortages, supplier_products)
    branch = anything_to_restock(shortages)
    branch >> [supplier_products, draft]

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def anything_to_order(draft: dict[str, Any], params: dict[str, Any]) -> bool:
        """Stop (the summary says why) when what is on order covers every shortage, or, with
        ``back_orders_only``, when nothing is on order."""
        return bool(draft["lines"] or (params["back_orders_only"] and draft["back_orders"]))

    # A manager approves (quantities may change) or rejects; a rejection skips sending and
    # everything after it, and the summary says so.
    approval = _ask(
        PurchaseOrderApproval,
        task_id="approve_purchase_order",
        options=["Approve", "Reject"],
        subject="Approve purchase order {{ ti.xcom_pull(task_ids='draft_purchase_order')['order_id'] }}",
        response_timeout=APPROVAL_WAIT,
    )
    anything_to_order(draft) >> approval

    @task(multiple_outputs=False)  # one XCom, not one per key
    def send_purchase_order(
        draft: dict[str, Any], rounds: Any, folder: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """The approved order, written as ``order.csv`` and ``order.md`` under this run's folder,
        and e-mailed when ``order_email`` is set; on order until its delivery. A rejection skips
        it and everything after. Writing again on a retry gives the same files."""
        from airflow.sdk import ObjectStoragePath

        from airflow_provider_altegio.compat import AirflowSkipException
        from airflow_provider_altegio.workflows.restock import PurchaseOrder

        approval = accepted(rounds)
        if approval is None or approval["chosen_options"] != ["Approve"]:
            raise AirflowSkipException(f"Order {draft['order_id']} was rejected: nothing is sent")
        order, problems = PurchaseOrder.model_validate(draft).read_approval(approval["params_input"])
        if problems:  # the approval form refused these; only a hand-made XCom gets here
            raise ValueError("; ".join(problems))
        who = (approval.get("responded_by_user") or {}).get("name", "unknown")
        _order_book().approve(order)
        if not order.lines:
            log.info("Order %s has no new lines: nothing to send", order.order_id)
            return {**order.model_dump(mode="json"), "markdown": "", "approved_by": who, "files": []}
        folder = ObjectStoragePath(folder)
        folder.mkdir(parents=True, exist_ok=True)
        summary = f"{order.to_markdown()}\n\nApproved by {who} at {approval['responded_at']}.\n"
        (folder / "order.csv").write_text(order.to_csv())
        (folder / "order.md").write_text(summary)
        log.info(
            "Order %s approved by %s: %d lines, written to %s", order.order_id, who, len(order.lines), folder
        )
        if params.get("order_email"):
            _email_order(params["order_email"], order.order_id, summary, folder)
        return {
            **order.model_dump(mode="json"),
            "markdown": order.to_markdown(),
            "approved_by": who,
            "files": [str(folder / "order.csv"), str(folder / "order.md")],
        }

    sent = send_purchase_order(draft, approval.output, folder=RUN_DIR + "/order")

    # Whoever takes the delivery in says what arrived; there is no default, so the request
    # times out (and the task fails) rather than assume a delivery nobody confirmed.
    delivery = _ask(
        DeliveryConfirmation,
        task_id="confirm_delivery",
        options=["Delivered", "Cancelled"],
        subject="Confirm the delivery of {{ ti.xcom_pull(task_ids='send_purchase_order')['order_id'] }}",
        response_timeout=DELIVERY_WAIT,
    )
    sent >> delivery

    @task(multiple_outputs=False)  # one XCom, not one per key
    def check_delivery(sent: dict[str, Any], rounds: Any) -> dict[str, Any]:
        """The delivery checked against the order: what arrived per line, and what differed."""
        from airflow_provider_altegio.compat import AirflowSkipException
        from airflow_provider_altegio.workflows.restock import PurchaseOrder

        order = PurchaseOrder.model_validate(sent)
        delivery = accepted(rounds) or {}
        received, problems = order.read_delivery(delivery["chosen_options"], delivery["params_input"])
        if problems:  # the delivery form refused these; only a hand-made XCom gets here
            raise ValueError("; ".join(problems))
        if received is None:
            raise AirflowSkipException(f"Order {order.order_id} was cancelled: nothing to book")
        if report := received.report():
            log.warning("The delivery of %s differs from the order:\n%s", order.order_id, report)
        return received.model_dump(mode="json")

    checked = check_delivery(sent, delivery.output)

    @task
    def plan_receipts(delivery: dict[str, Any]) -> list[dict[str, Any]]:
        """One receipt per (location, storage): what arrived, at the order's prices."""
        from airflow_provider_altegio.workflows.restock import Delivery

        return Delivery.model_validate(delivery).receipts()

    # One mapped task instance, and one receipt document, per (location, storage).
    receipts = CreateStorageOperationOperator.partial(
        task_id="create_receipt",
        operation_type="receipt",
        master_id="{{ params.master_id }}",
        outlets=[ALTEGIO_RECEIPTS],
        map_index_template="location {{ task.location_id }} storage {{ task.storage_id }}",
    ).expand_kwargs(plan_receipts(checked))

    # Runs however the run went (unless a task failed): a rejected or cancelled order, or one
    # with nothing to order, is said so here. One at a time across runs: it updates what is on
    # order, earlier orders' back-orders included.
    @task(multiple_outputs=False, trigger_rule="none_failed", max_active_tis_per_dag=1)
    def summarise_restock(params: dict[str, Any], ti: Any = None) -> dict[str, Any]:
        """How the run ended, first in its log and in the XCom's ``outcome`` (``delivered``,
        ``rejected``, ``cancelled``, ``nothing to order``) and ``detail``; what is on order is
        updated: what arrived is booked against its order, a rejected or cancelled order dropped."""
        from airflow_provider_altegio.workflows.restock import Delivery

        def answered_by(answer: dict[str, Any]) -> str:
            return (answer.get("responded_by_user") or {}).get("name", "unknown")

        draft = ti.xcom_pull(task_ids="draft_purchase_order")
        approval = accepted(ti.xcom_pull(task_ids=["approve_purchase_order"]))
        answer = accepted(ti.xcom_pull(task_ids=["confirm_delivery"]))
        book = _order_book()
        result: dict[str, Any] = {"order_id": draft and draft["order_id"], "documents": []}
        if draft is None:
            outcome, detail = "nothing to order", "no product is at or below its critical amount"
        elif approval is None:
            outcome = "nothing to order"
            detail = (
                "no back-orders are open"
                if params["back_orders_only"]
                else f"what is on order covers all {len(draft['covered'])} products at or below critical"
            )
        elif approval["chosen_options"] == ["Reject"]:
            outcome = "rejected"
            detail = f"by {answered_by(approval)} at {approval['responded_at']}: nothing was sent or booked"
            book.drop(draft["order_id"])
        elif answer is not None and answer["chosen_options"] == ["Cancelled"]:
            outcome, detail = "cancelled", f"as {answered_by(answer)} confirmed: nothing was booked"
            book.drop(draft["order_id"])
        else:
            delivery = Delivery.model_validate(ti.xcom_pull(task_ids="check_delivery"))
            created = [r for r in ti.xcom_pull(task_ids=["create_receipt"]) if r]
            book.record_delivery(delivery)
            outcome = "delivered"
            detail = (
                f"{len(delivery.lines)} lines, {len(delivery.short)} short (the rest stays on order), "
                f"{len(delivery.back_orders)} back-orders received; receipts: "
                + (
                    ", ".join(
                        f"{r['document_id']} ({'created' if r['created'] else 'found'})" for r in created
                    )
                    or "none"
                )
            )
            result |= {
                "documents": [r["document_id"] for r in created],
                "short_lines": [line.line for line in delivery.short],
                "back_orders_received": [back.key for back in delivery.back_orders],
                "extra_items": len(delivery.extra_items),
            }
        level = logging.WARNING if outcome in ("rejected", "cancelled") else logging.INFO
        log.log(level, "Order %s: %s, %s", result["order_id"] or "(none)", outcome.upper(), detail)
        return {"outcome": outcome, "detail": detail, **result}

    receipts >> summarise_restock()


def _email_order(to: str, order_id: str, summary: str, folder: Any) -> None:
    """E-mail the order summary with the CSV attached, through the ``smtp_default`` connection."""
    import tempfile
    from pathlib import Path

    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with tempfile.TemporaryDirectory() as scratch:
        attachment = Path(scratch) / f"{order_id}.csv"
        attachment.write_text((folder / "order.csv").read_text())
        with SmtpHook() as smtp:
            smtp.send_email_smtp(
                to=[address.strip() for address in to.split(",") if address.strip()],
                subject=f"Purchase order {order_id}",
                html_content=f"<pre>{summary}</pre>",
                files=[str(attachment)],
            )
    log.info("Order %s e-mailed to %s", order_id, to)


altegio_restock()
