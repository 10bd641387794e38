"""Operators for Altegio storages: storage operations (exactly once), storages and transactions.

:class:`CreateStorageOperationOperator` is the one write that moves stock; it books through
:class:`~airflow_provider_altegio.workflows.booking.Booker`, which makes it take effect exactly
once across retries and lost answers. Location and connection arguments are those of
:class:`~airflow_provider_altegio.operators.base.AltegioBaseOperator`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.inputs import read_date_range, read_datetime
from airflow_provider_altegio.operators.base import AltegioBaseOperator, JsonDict, ListReadMixin
from airflow_provider_altegio.values import optional_whole_number, structure, whole_number

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_altegio.models.altegio import StorageOperationRequest
    from airflow_provider_altegio.results import ReadResult
    from airflow_provider_altegio.workflows.booking import Booker

#: How far before the run's start the search for an earlier document reaches back, to absorb
#: clock and time-zone skew between the Airflow workers and the API's ``last_change_date``.
SEARCH_LOOKBACK = timedelta(days=1)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def task_key_of(ti: Any) -> str:
    """What a task instance's document keys are made from: its DAG, run and task (not its map
    index, see :meth:`CreateStorageOperationOperator.build_requests`)."""
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}"


def _current_task_instance() -> Any:
    """The running task's instance, where there is one (the lineage start event has no argument)."""
    from airflow.sdk import get_current_context

    try:
        return get_current_context()["ti"]
    except RuntimeError:
        return None


def run_started(context: Context) -> datetime:
    """The earliest moment the run is known by (when it was due, started or queued)."""
    dag_run = context["dag_run"]
    moments = [
        moment
        for moment in (
            getattr(dag_run, "run_after", None),
            getattr(dag_run, "start_date", None),
            getattr(dag_run, "queued_at", None),
            context.get("logical_date"),
        )
        if isinstance(moment, datetime)
    ]
    return min(moments) if moments else datetime.now(tz=timezone.utc)


class CreateStorageOperationOperator(AltegioBaseOperator):
    """Create a storage operation: one document and its transactions, exactly once.

    ``POST /storage_operations/operation/{location_id}``. A receipt adds stock, a sale, usage or
    write-off takes it out, a transfer moves it from ``storage_id`` to ``target_storage_id``.

    Exactly once: each document carries a key in its comment (``[airflow:<key>]``), made of the
    run, the task, the location, the storage, the type and the lines (not of the map index, so
    mapped inputs may come in any order; two identical documents of one task are one). A retry,
    or a create whose answer was lost, looks for the key before creating again.

    No source documents how the API's type-5 ("internal transfer") document names its target
    storage, so a transfer is booked as two documents of documented effect: a write-off out of
    ``storage_id`` and a receipt into ``target_storage_id``, each exactly once under its own key.

    :param operation_type: ``"sale"``, ``"usage"``, ``"receipt"``, ``"write_off"``,
        ``"transfer"`` or the number 1-5.
    :param storage_id: the storage the operation applies to (the source of a transfer).
    :param transactions: list of ``{"good_id", "amount", "cost_per_unit", ...}`` with the
        documented optional fields ``discount``, ``cost``, ``operation_unit_type`` (1 sale unit,
        2 service unit), ``master_id``, ``client_id``, ``supplier_id``, ``comment``. Amounts are
        positive; the API signs them by operation type. A list or its JSON text.
    :param comment: document comment; the key marker is appended.
    :param create_date: document date (datetime or ISO string); a value without an offset is the
        location's wall-clock time. Default: now.
    :param master_id: the team member the document is booked by; the live API requires one.
        Default: the connection's ``master_id`` extra.
    :param target_storage_id: destination storage; required for a transfer, refused otherwise.
    :param reconcile_grace: seconds (or timedelta) to keep looking for the document after a create
        that got no answer at all, since the server may still be applying it; default: twice the
        connection's request timeout, at least 5 s. A retry keeps looking for whatever part of
        it its ``retry_delay`` has not already covered.
    :param allow_negative_stock: skip the check that an outflow does not take out more than the
        storage holds.

    XCom: ``{"document_id", "transaction_ids", "created", "key", "documents": [...]}``;
    ``created`` is false when an earlier try (or a lost answer) had already created it.
    ``documents`` lists each document booked (two for a transfer, the write-off first) with the
    same fields; the top-level ones are the first's. Declared asset ``outlets`` get an event with
    the same figures plus ``location_id``, ``storage_id`` and ``operation_type``.

    :raises InvalidRequestError: invalid input (named field, e.g. ``transactions[0].amount``), no
        ``master_id``, not enough stock, or an unknown storage; raised before anything is written.
    :raises AmbiguousWriteError: the answer to the create was lost and no document with the key
        exists yet; a retry of the task searches again before creating.
    :raises AltegioAPIError: the API refused the operation.
    """

    template_fields = (
        "location_id",
        "operation_type",
        "storage_id",
        "target_storage_id",
        "transactions",
        "comment",
        "create_date",
        "master_id",
    )
    lineage_writes = (
        "locations/{location_id}/documents",
        "locations/{location_id}/storages/{storage_id}",
        "locations/{location_id}/storages/{target_storage_id}",
    )
    lineage_result = ("documents",)

    def __init__(
        self,
        *,
        operation_type: str | int,
        storage_id: int | str,
        transactions: Any,
        comment: str | None = None,
        create_date: Any = None,
        master_id: int | str | None = None,
        target_storage_id: int | str | None = None,
        allow_negative_stock: bool = False,
        reconcile_grace: float | timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.operation_type = operation_type
        self.storage_id = storage_id
        self.transactions = transactions
        self.comment = comment
        self.create_date = create_date
        self.master_id = master_id
        self.target_storage_id = target_storage_id
        self.allow_negative_stock = allow_negative_stock
        self.reconcile_grace = reconcile_grace

    def build_requests(
        self, task_key: str, location_id: int = 0
    ) -> list[tuple[str, StorageOperationRequest]]:
        """Every input validated into the documents to book, each with its key (from
        ``task_key`` and the document, see :func:`~.workflows.booking.document_key`) stamped into
        its comment: one document, or two for a transfer (out of the source, into the target).

        :raises InvalidRequestError: naming the first invalid field.
        """
        from airflow_provider_altegio.models.altegio import DocumentType
        from airflow_provider_altegio.workflows.booking import document_key, stamped

        operation_type = DocumentType.parse(self.operation_type, field="operation_type")
        storage_id = whole_number(self.storage_id, "storage_id")
        target = optional_whole_number(self.target_storage_id, "target_storage_id")
        transfer = operation_type is DocumentType.TRANSFER
        if transfer and target is None:
            raise InvalidRequestError("target_storage_id", "is required for a transfer")
        if transfer and target == storage_id:
            raise InvalidRequestError("target_storage_id", "must differ from storage_id for a transfer")
        if not transfer and target is not None:
            raise InvalidRequestError(
                "target_storage_id", f"is only allowed for a transfer, not for {operation_type.name.lower()}"
            )
        transactions = structure(self.transactions, "transactions")
        if not isinstance(transactions, (list, tuple)):
            raise InvalidRequestError("transactions", "must be a list of transaction mappings")
        common: dict[str, Any] = {
            "create_date": read_datetime(self.create_date, "create_date", naive_as=None)
            or datetime.now(tz=timezone.utc),
            "transactions": [structure(t, f"transactions[{i}]") for i, t in enumerate(transactions)],
            "master_id": optional_whole_number(self.master_id, "master_id"),
        }
        note = (self.comment or "").strip()
        documents: list[tuple[DocumentType, int, str, str]] = [(operation_type, storage_id, note, "")]
        if transfer and target is not None:
            documents = [
                (DocumentType.WRITE_OFF, storage_id, f"{note} Transfer to storage {target}".strip(), "-out"),
                (DocumentType.RECEIPT, target, f"{note} Transfer from storage {storage_id}".strip(), "-in"),
            ]
        requests = []
        for type_id, storage, comment, suffix in documents:
            fields = {**common, "type_id": type_id, "storage_id": storage, "comment": comment or None}
            request = self.hook.storage_operation_request(fields)
            key = document_key(task_key, location_id, request) + suffix
            requests.append((key, stamped(request, key)))
        return requests

    def lineage_values(self) -> dict[str, Any]:
        values = super().lineage_values()
        for name in ("storage_id", "target_storage_id"):
            try:
                values[name] = optional_whole_number(getattr(self, name), name)
            except InvalidRequestError:
                values[name] = None
        return values

    def lineage_keys(self, task_instance: Any) -> list[str] | None:
        """The keys :meth:`build_requests` gives the documents (``None`` on invalid input)."""
        ti = task_instance or _current_task_instance()
        location_id = self.lineage_values().get("location_id")
        if ti is None or location_id is None:
            return None
        try:
            return [key for key, _ in self.build_requests(task_key_of(ti), location_id)]
        except InvalidRequestError:
            return None

    def booker(self, context: Context, location_id: int) -> Booker:
        """The exactly-once booking service of this try, in ``location_id``."""
        from airflow_provider_altegio.workflows.booking import Booker

        grace = (
            _seconds(self.reconcile_grace)
            if self.reconcile_grace is not None
            else max(5.0, 2 * self.hook.get_conn().config.timeout)
        )
        return Booker(self.hook, location_id, since=run_started(context) - SEARCH_LOOKBACK, grace=grace)

    def execute(self, context: Context) -> JsonDict:
        ti = context["ti"]
        with self.hook:
            location_id = self.hook.resolve_location_id(self.location_id)
            requests = self.build_requests(task_key_of(ti), location_id)
            booker = self.booker(context, location_id)
            # An earlier try may have died during its grace period while its create was on its way;
            # this try starts ``retry_delay`` later, so it covers what remains of that period.
            look_first = max(0.0, booker.grace - _seconds(self.retry_delay)) if ti.try_number > 1 else None
            if look_first is not None:
                self.log.info("Try %d: checking whether an earlier try already booked", ti.try_number)
            # A transfer's write-off comes first: its stock check runs before anything is written.
            documents = [
                booker.book_once(
                    request, key, look_first=look_first, check_stock=not self.allow_negative_stock
                ).to_json()
                for key, request in requests
            ]
        first = requests[0][1]
        self.record_outlets(
            context,
            **documents[0],
            documents=documents,
            location_id=location_id,
            storage_id=first.storage_id,
            operation_type="transfer" if len(requests) > 1 else first.type_id.name.lower(),
        )
        return {**documents[0], "documents": documents}


class DeleteStorageDocumentOperator(AltegioBaseOperator):
    """Undo a storage operation: delete its document and transactions, which takes back their
    effect on stock (``DELETE /storage_operations/documents/{location_id}/{document_id}``).

    Exactly once, like the create: the document is looked up first, so a document that never
    existed fails the task at once; once it was seen, a "not found" from the delete (a retried
    request whose first attempt went through) or from a later try means it is already gone.

    :param document_id: the document, e.g. from ``CreateStorageOperationOperator``'s XCom.

    XCom: ``{"document_id": int, "deleted": bool}``; ``deleted`` is false when an earlier try
    had already deleted it.

    :raises AltegioNotFoundError: no such document, on the first try.
    """

    template_fields = ("location_id", "document_id")
    lineage_writes = ("locations/{location_id}/documents",)
    lineage_result = ("document_id", "deleted")

    def __init__(self, *, document_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.document_id = document_id

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.exceptions import AltegioNotFoundError

        document_id = whole_number(self.document_id, "document_id")
        deleted = True
        with self.hook:
            location_id = self.hook.resolve_location_id(self.location_id)
            try:
                self.hook.get_storage_document(document_id, location_id)
            except AltegioNotFoundError:
                if context["ti"].try_number == 1:
                    raise
                self.log.info("Document %s is gone: an earlier try deleted it", document_id)
                deleted = False
            if deleted:
                try:
                    self.hook.delete_storage_document(document_id, location_id)
                except AltegioNotFoundError:
                    # It existed a moment ago: our own retried request, whose first attempt went through.
                    self.log.info(
                        "Document %s was deleted by an earlier attempt of this request", document_id
                    )
                self.log.info("Deleted storage document %s", document_id)
        self.record_outlets(context, location_id=location_id, document_id=document_id, deleted=deleted)
        return {"document_id": document_id, "deleted": deleted}


class ListStoragesOperator(AltegioBaseOperator):
    """List the storages of a location (``GET /storages/{location_id}``).

    XCom: a list of storage dicts (``id``, ``title``, ``for_services``, ``for_sale``...).

    :raises InvalidRequestError: no location.
    """

    lineage_reads = ("locations/{location_id}/storages",)

    def execute(self, context: Context) -> list[JsonDict]:
        with self.hook:
            return [storage.to_json_dict() for storage in self.hook.list_storages(self.location_id)]  # type: ignore[arg-type]


class LowStockReportOperator(AltegioBaseOperator):
    """Report the products of a location at or below their critical amount, with the quantity
    that brings each back to its desired amount
    (:func:`~airflow_provider_altegio.workflows.restock.low_stock`).

    Amounts are in the product's sale unit (a bottle): critical and desired amounts are kept in
    that unit, and a supplier sells whole ones, so ``quantity`` is rounded up. Map it over the
    locations of a chain with ``.expand(location_id=...)``.

    XCom: a list of ``{"location_id", "storage_id", "storage_title", "good_id", "title",
    "article", "barcode", "unit", "on_hand", "critical_amount", "desired_amount", "quantity"}``,
    by storage and product.

    :raises InvalidRequestError: no location.
    """

    lineage_reads = ("locations/{location_id}/products", "locations/{location_id}/storages")

    def execute(self, context: Context) -> list[JsonDict]:
        from airflow_provider_altegio.workflows.restock import low_stock

        with self.hook:
            lines = low_stock(self.hook, self.location_id)  # type: ignore[arg-type]
        for line in lines:
            self.log.info(
                "%s (%s): %g %s on hand, critical %g, desired %g: order %d",
                line.title,
                line.good_id,
                line.on_hand,
                line.unit or "",
                line.critical_amount,
                line.desired_amount,
                line.quantity,
            )
        self.log.info("%d products at or below their critical amount", len(lines))
        return [line.to_json_dict() for line in lines]


class ListStorageTransactionsOperator(ListReadMixin, AltegioBaseOperator):
    """Read the stock transactions of a location (``GET /storages/transactions/{location_id}``).

    :param date_from: transactions dated on or after (datetime or ISO string); the API's
        ``start_date`` filter (named apart from the task's own ``start_date``).
    :param date_to: transactions dated on or before; the API's ``end_date``.
    :param document_id: only the transactions of this document.
    :param changed_after: transactions changed or created since then.
    :param changed_before: transactions changed or created before then.
    :param output_path: write JSON lines there instead of returning the items.
    :param page_size: transactions per page.

    XCom: a :class:`~airflow_provider_altegio.results.ReadResult` of transaction dicts (``id``,
    ``document_id``, ``good_id``, ``storage_id``, ``amount`` signed, ``create_date``...).

    :raises InvalidRequestError: a bad id or date, an end before the start, or no location.
    """

    template_fields = (
        "location_id",
        "date_from",
        "date_to",
        "document_id",
        "changed_after",
        "changed_before",
        "output_path",
    )
    read_description = "Altegio transactions"
    lineage_reads = ("locations/{location_id}/transactions",)

    def __init__(
        self,
        *,
        date_from: Any = None,
        date_to: Any = None,
        document_id: int | str | None = None,
        changed_after: Any = None,
        changed_before: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.date_from = date_from
        self.date_to = date_to
        self.document_id = document_id
        self.changed_after = changed_after
        self.changed_before = changed_before

    def execute(self, context: Context) -> ReadResult:
        start, end = read_date_range(self.date_from, self.date_to, "date_from", "date_to")
        after, before = read_date_range(
            self.changed_after, self.changed_before, "changed_after", "changed_before"
        )
        page_size = self.read_page_size()
        with self.hook:
            transactions = self.hook.iter_transactions(
                self.location_id,  # type: ignore[arg-type]  # read by the hook
                start_date=start,
                end_date=end,
                document_id=optional_whole_number(self.document_id, "document_id"),
                changed_after=after,
                changed_before=before,
                page_size=page_size,
            )
            return self.deliver(transactions, page_size)


__all__ = [
    "CreateStorageOperationOperator",
    "DeleteStorageDocumentOperator",
    "ListStorageTransactionsOperator",
    "ListStoragesOperator",
    "LowStockReportOperator",
]
