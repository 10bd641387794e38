"""Operators for Altegio storages: storage operations (exactly once), storages and transactions.

:class:`CreateStorageOperationOperator` is the one write that moves stock; its docstring says how
it takes effect exactly once per task instance, across retries and lost answers.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_altegio.exceptions import AmbiguousWriteError, InvalidRequestError
from airflow_provider_altegio.operators._common import (
    AltegioBaseOperator,
    AltegioChangedReadOperator,
    JsonDict,
    carries_key,
    idempotency_key,
    read_date_range,
    read_datetime,
    record_asset_events,
    stamp_comment,
)
from airflow_provider_altegio.values import optional_whole_number, structure, whole_number

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_altegio.models.altegio import StorageOperationRequest
    from airflow_provider_altegio.results import ReadResult

#: How far before the run's start the reconciliation search reaches back, to absorb clock and
#: time-zone skew between the Airflow workers and the API's ``last_change_date``.
RECONCILE_LOOKBACK = timedelta(days=1)
#: Longest pause between two searches while waiting for a request that may still be in flight.
RECONCILE_MAX_PAUSE = 10.0


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class CreateStorageOperationOperator(AltegioBaseOperator):
    """Create a storage operation: one document and its transactions, exactly once.

    ``POST /storage_operations/operation/{location_id}``. A receipt adds stock, a sale, usage or
    write-off takes it out, a transfer moves it from ``storage_id`` to ``target_storage_id``.

    No source documents how the API's type-5 ("internal transfer") document names its target
    storage, so a transfer is booked as two documents of documented effect: a write-off out of
    ``storage_id`` and a receipt into ``target_storage_id``, each exactly once under its own key
    (``<key>-out``, ``<key>-in``), each comment naming the other storage.

    :param operation_type: ``"sale"``, ``"usage"``, ``"receipt"``, ``"write_off"``,
        ``"transfer"`` or the number 1-5.
    :param storage_id: the storage the operation applies to (the source of a transfer).
    :param transactions: list of ``{"good_id", "amount", "cost_per_unit", ...}`` with the
        documented optional fields ``discount``, ``cost``, ``operation_unit_type`` (1 sale unit,
        2 service unit), ``master_id``, ``client_id``, ``supplier_id``, ``comment``. Amounts are
        positive; the API signs them by operation type. A list or its JSON text.
    :param comment: document comment; the idempotency marker ``[airflow:<key>]`` is appended.
    :param create_date: document date (datetime or ISO string), sent as ISO-8601 with its offset;
        a value without an offset is the location's wall-clock time. Default: now.
    :param master_id: the team member the document is booked by; the live API requires one.
        Default: the connection's ``master_id`` extra.
    :param target_storage_id: destination storage; required for a transfer, refused otherwise.
    :param reconcile_grace: seconds (or timedelta) to keep looking for the document after a create
        that got no answer at all (timeout, dropped connection), since the server may still be
        applying it; default: twice the connection's request timeout, at least 5 s. A failure
        with an HTTP answer (5xx) is searched once, without waiting. A retry keeps looking for
        whatever part of the grace period its ``retry_delay`` has not already covered, in case
        the earlier try died during its own.
    :param allow_negative_stock: skip the check that a sale, usage, write-off or transfer does not
        take out more than the storage holds.
    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``operation_type``, ``storage_id``, ``target_storage_id``,
    ``transactions``, ``comment``, ``create_date``, ``master_id``.

    XCom: ``{"document_id": int, "transaction_ids": [int, ...], "created": bool, "documents":
    [...]}``; ``created`` is false when an earlier try (or a lost answer) had already created the
    document. ``documents`` lists each document booked (one; two for a transfer, the write-off
    first) with the same three fields; the top-level fields are the first's. Declared asset
    ``outlets`` get an event whose extra carries the same figures plus ``location_id``,
    ``storage_id`` and ``operation_type``.

    :raises InvalidRequestError: invalid input (named field, e.g. ``transactions[0].amount``), no
        ``master_id``, or not enough stock (``transactions[i].amount``); raised before anything
        is written.
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

    def __init__(
        self,
        *,
        operation_type: str | int,
        storage_id: int | str,
        transactions: Any,
        location_id: int | str | None = None,
        comment: str | None = None,
        create_date: Any = None,
        master_id: int | str | None = None,
        target_storage_id: int | str | None = None,
        allow_negative_stock: bool = False,
        reconcile_grace: float | timedelta | None = None,
        altegio_conn_id: str = "altegio_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(location_id=location_id, altegio_conn_id=altegio_conn_id, **kwargs)
        self.reconcile_grace = reconcile_grace
        self.operation_type = operation_type
        self.storage_id = storage_id
        self.transactions = transactions
        self.comment = comment
        self.create_date = create_date
        self.master_id = master_id
        self.target_storage_id = target_storage_id
        self.allow_negative_stock = allow_negative_stock

    # -- building the request ------------------------------------------------------------------

    def build_requests(self, key: str) -> list[tuple[str, StorageOperationRequest]]:
        """Validate every input into the documents to book, each with its key stamped into its
        comment: one document, or two for a transfer (out of the source, into the target).

        :raises InvalidRequestError: naming the first invalid field.
        """
        from airflow_provider_altegio.models.altegio import DocumentType

        operation_type = DocumentType.parse(self.operation_type, field="operation_type")
        storage_id = whole_number(self.storage_id, "storage_id")
        target = optional_whole_number(self.target_storage_id, "target_storage_id")
        if operation_type is DocumentType.TRANSFER:
            if target is None:
                raise InvalidRequestError("target_storage_id", "is required for a transfer")
            if target == storage_id:
                raise InvalidRequestError("target_storage_id", "must differ from storage_id for a transfer")
        elif target is not None:
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
        documents: list[tuple[str, DocumentType, int, str | None]]
        if operation_type is not DocumentType.TRANSFER or target is None:
            documents = [(key, operation_type, storage_id, self.comment)]
        else:
            note = (self.comment or "").strip()
            documents = [
                (f"{key}-out", DocumentType.WRITE_OFF, storage_id, f"{note} Transfer to storage {target}"),
                (f"{key}-in", DocumentType.RECEIPT, target, f"{note} Transfer from storage {storage_id}"),
            ]
        requests = []
        for doc_key, type_id, storage, comment in documents:
            fields = {
                **common,
                "type_id": type_id,
                "storage_id": storage,
                "comment": stamp_comment(comment, doc_key),
            }
            requests.append((doc_key, self.hook.storage_operation_request(fields)))
        return requests

    def check_stock(self, request: StorageOperationRequest, location_id: int) -> None:
        """Refuse to take out more than the storage holds (unless ``allow_negative_stock``).

        Amounts of the same product across lines are added up before comparing. Stock is kept in
        the sale unit, so a line in the service unit (``operation_unit_type=2``, e.g. ml) counts
        as ``amount / unit_equals`` sale units.

        :raises InvalidRequestError: ``transactions[i].amount`` of the line that goes below zero.
        """

        if self.allow_negative_stock or not request.type_id.is_outflow:
            return
        on_hand: dict[int, float] = {}
        unit_equals: dict[int, float] = {}
        wanted: dict[int, float] = defaultdict(float)
        for index, line in enumerate(request.transactions):
            if line.good_id not in on_hand:
                product = self.hook.get_product(line.good_id, location_id)
                on_hand[line.good_id] = product.amount_in(request.storage_id)
                unit_equals[line.good_id] = product.unit_equals or 1.0
            service_unit = line.operation_unit_type == 2
            wanted[line.good_id] += line.amount / unit_equals[line.good_id] if service_unit else line.amount
            if wanted[line.good_id] > on_hand[line.good_id] + 1e-9:
                self.check_storage_exists(request.storage_id, location_id)
                raise InvalidRequestError(
                    f"transactions[{index}].amount",
                    f"{request.type_id.name.lower()} of {wanted[line.good_id]:g} of product "
                    f"{line.good_id} exceeds the {on_hand[line.good_id]:g} on hand in storage "
                    f"{request.storage_id} (allow_negative_stock=True to send it anyway)",
                )

    def check_storage_exists(self, storage_id: int, location_id: int) -> None:
        """Refuse a storage the location does not have (asked only when stock looks short, since a
        missing storage holds nothing).

        :raises InvalidRequestError: ``storage_id``, listing the location's storages.
        """
        storages = self.hook.list_storages(location_id)
        if storage_id not in {storage.id for storage in storages}:
            known = ", ".join(f"{storage.id} ({storage.title})" for storage in storages) or "none"
            raise InvalidRequestError(
                "storage_id",
                f"location {location_id} has no storage {storage_id}; its storages are: {known}",
            )

    # -- exactly once --------------------------------------------------------------------------

    @staticmethod
    def key_for(context: Context) -> str:
        """The idempotency key of the running task instance."""
        ti = context["ti"]
        return idempotency_key(ti.dag_id, ti.run_id, ti.task_id, ti.map_index)

    @staticmethod
    def search_since(context: Context) -> datetime:
        """Lower bound of the reconciliation search: the run's start, less the look-back margin."""
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
        start = min(moments) if moments else datetime.now(tz=timezone.utc)
        return start - RECONCILE_LOOKBACK

    def find_existing(
        self, request: StorageOperationRequest, location_id: int, key: str, since: datetime
    ) -> JsonDict | None:
        """The document of an earlier try that carries ``key``, as the operator's XCom, or None.

        Reads the transactions changed since ``since``, keeps those of this operation's storage
        and products, and reads their documents' comments. Live listings were seen to drop rows
        at page boundaries while rows changed, so a walk that finds nothing is repeated once
        with pages one row shorter: its boundaries fall elsewhere.
        """
        goods = {line.good_id for line in request.transactions}
        checked: set[int] = set()
        first = self.hook.page_size
        for page_size in (first, max(1, first - 1)):
            candidates: dict[int, list[int]] = defaultdict(list)
            for tx in self.hook.iter_transactions(location_id, changed_after=since, page_size=page_size):
                if tx.document_id is None or tx.id is None or tx.deleted:
                    continue
                if tx.storage_id == request.storage_id and tx.good_id in goods:
                    candidates[tx.document_id].append(tx.id)
            fresh = sorted(set(candidates) - checked, reverse=True)  # newest first
            self.log.info("Looking for key %s among %d candidate documents", key, len(fresh))
            for document_id in fresh:
                checked.add(document_id)
                document = self.hook.get_storage_document(document_id, location_id)
                if carries_key(document.comment, key):
                    self.log.info("Document %s already carries key %s: not creating again", document_id, key)
                    return {
                        "document_id": document_id,
                        "transaction_ids": sorted(candidates[document_id]),
                        "created": False,
                    }
        return None

    def _grace(self) -> float:
        if self.reconcile_grace is not None:
            return _seconds(self.reconcile_grace)
        return max(5.0, 2 * self.hook.get_conn().config.timeout)

    def _retry_grace(self) -> float:
        """How long a retry keeps looking before it creates.

        An earlier try may have died during its grace period while its create was still on its
        way. The retry starts at least ``retry_delay`` after that try ended, so it covers only
        the part of the grace period the delay has not (nothing with the usual delays of minutes).
        """
        return max(0.0, self._grace() - _seconds(self.retry_delay))

    def await_existing(
        self, request: StorageOperationRequest, location_id: int, key: str, since: datetime, grace: float
    ) -> JsonDict | None:
        """:meth:`find_existing`, repeated with growing pauses until found or ``grace`` seconds passed."""
        deadline = time.monotonic() + grace
        pause = 1.0
        while True:
            found = self.find_existing(request, location_id, key, since)
            remaining = deadline - time.monotonic()
            if found is not None or remaining <= 0:
                return found
            self.log.info(
                "Key %s not found yet; the request may still be in flight: next look in %.0fs", key, pause
            )
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, RECONCILE_MAX_PAUSE)

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.models.altegio import DocumentType

        key = self.key_for(context)
        with self.hook:
            location_id = self.resolve_location_id()
            requests = self.build_requests(key)
            # A transfer's write-off comes first: its stock check runs before anything is written.
            documents = [self._create_once(context, request, location_id, k) for k, request in requests]
        result = {**documents[0], "documents": documents}
        record_extra = {
            **result,
            "location_id": location_id,
            "storage_id": requests[0][1].storage_id,
            "operation_type": DocumentType.parse(self.operation_type, field="operation_type").name.lower(),
        }
        record_asset_events(context, self, record_extra)
        return result

    def _create_once(
        self, context: Context, request: StorageOperationRequest, location_id: int, key: str
    ) -> JsonDict:
        """The document carrying ``key``: an earlier try's (on a retry), else a new one."""
        since = self.search_since(context)
        try_number = context["ti"].try_number
        if try_number > 1:
            self.log.info("Try %d: checking whether an earlier try already created the document", try_number)
            found = self.await_existing(request, location_id, key, since, self._retry_grace())
            if found is not None:
                return found
        self.check_stock(request, location_id)
        return self._create(request, location_id, key, since)

    def _create(
        self, request: StorageOperationRequest, location_id: int, key: str, since: datetime
    ) -> JsonDict:
        try:
            created = self.hook.create_storage_operation(request, location_id)
        except AmbiguousWriteError as exc:
            self.log.warning("The answer to the create was lost (%s); looking for key %s", exc, key)
            # No answer at all: the request may still be on its way through the server.
            in_flight = exc.status_code is None
            found = self.await_existing(request, location_id, key, since, self._grace() if in_flight else 0.0)
            if found is not None:
                return found
            raise AmbiguousWriteError(
                f"{exc.message}; no document carrying key {key} exists, so the operation was not "
                "applied as far as the API shows. A retry of this task looks again before creating.",
                status_code=exc.status_code,
                method=exc.method,
                url=exc.url,
            ) from exc
        document_id = created.document.id
        transaction_ids = [tx.id for tx in created.transactions if tx.id is not None]
        self.log.info(
            "Created %s document %s with %d transactions (key %s)",
            request.type_id.name.lower(),
            document_id,
            len(transaction_ids),
            key,
        )
        return {"document_id": document_id, "transaction_ids": transaction_ids, "created": True}


class DeleteStorageDocumentOperator(AltegioBaseOperator):
    """Undo a storage operation: delete its document and transactions, which takes back their
    effect on stock (``DELETE /storage_operations/documents/{location_id}/{document_id}``).

    Exactly once, like the create: the document is looked up first, so a document that never
    existed fails the task at once; once it was seen, a "not found" from the delete (a retried
    request whose first attempt went through) or from a later try means it is already gone.

    :param document_id: the document, e.g. from ``CreateStorageOperationOperator``'s XCom.
    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``document_id``.

    XCom: ``{"document_id": int, "deleted": bool}``; ``deleted`` is false when an earlier try
    had already deleted it. Declared asset ``outlets`` get an event.

    :raises AltegioNotFoundError: no such document, on the first try.
    """

    template_fields = ("location_id", "document_id")

    def __init__(self, *, document_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.document_id = document_id

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.exceptions import AltegioNotFoundError

        document_id = whole_number(self.document_id, "document_id")
        retry = context["ti"].try_number > 1
        with self.hook:
            location_id = self.resolve_location_id()
            try:
                self.hook.get_storage_document(document_id, location_id)
            except AltegioNotFoundError:
                if not retry:
                    raise
                self.log.info("Document %s is gone: an earlier try deleted it", document_id)
                return self.finish_write(context, {"document_id": document_id, "deleted": False})
            try:
                self.hook.delete_storage_document(document_id, location_id)
            except AltegioNotFoundError:
                # It existed a moment ago: our own retried request, whose first attempt went
                # through, finds it gone.
                self.log.info("Document %s was deleted by an earlier attempt of this request", document_id)
            self.log.info("Deleted storage document %s", document_id)
            return self.finish_write(context, {"document_id": document_id, "deleted": True})


class ListStoragesOperator(AltegioBaseOperator):
    """List the storages of a location (``GET /storages/{location_id}``).

    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``.

    XCom: a list of storage dicts (``id``, ``title``, ``for_services``, ``for_sale``...).

    :raises InvalidRequestError: no location.
    """

    def execute(self, context: Context) -> list[JsonDict]:
        with self.hook:
            return [storage.to_json_dict() for storage in self.hook.list_storages(self.resolve_location_id())]


class LowStockReportOperator(AltegioBaseOperator):
    """Report the products of a location at or below their critical amount, with the quantity
    that brings each back to its desired amount (``AltegioHook.low_stock``).

    Amounts are in the product's sale unit (its ``unit``, e.g. a bottle): critical and desired
    amounts are kept in that unit, and a supplier sells whole ones, so ``quantity`` is rounded
    up. Map it over the locations of a chain with ``.expand(location_id=...)``.

    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``.

    XCom: a list of ``{"location_id", "storage_id", "storage_title", "good_id", "title",
    "article", "barcode", "unit", "on_hand", "critical_amount", "desired_amount", "quantity"}``,
    by storage and product.

    :raises InvalidRequestError: no location.
    """

    def execute(self, context: Context) -> list[JsonDict]:
        with self.hook:
            lines = self.hook.low_stock(self.resolve_location_id())
        for line in lines:
            self.log.info(
                "%s (%s): %g %s on hand, critical %g, desired %g: order %d %s",
                line.title,
                line.good_id,
                line.on_hand,
                line.unit or "",
                line.critical_amount,
                line.desired_amount,
                line.quantity,
                line.unit or "",
            )
        self.log.info("%d products at or below their critical amount", len(lines))
        return [line.to_json_dict() for line in lines]


class ListStorageTransactionsOperator(AltegioChangedReadOperator):
    """Read the stock transactions of a location (``GET /storages/transactions/{location_id}``).

    :param date_from: transactions dated on or after (datetime or ISO string); the API's
        ``start_date`` filter. (Named apart from the task's own ``start_date``, which
        ``default_args`` often set.)
    :param date_to: transactions dated on or before; the API's ``end_date``.
    :param document_id: only the transactions of this document.
    :param changed_after: transactions changed or created since then.
    :param changed_before: transactions changed or created before then.
    :param output_path: write JSON lines there instead of returning the list.
    :param page_size: transactions per page (the hook's default when ``None``).
    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``date_from``, ``date_to``, ``document_id``,
    ``changed_after``, ``changed_before``, ``output_path``.

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

    def __init__(
        self,
        *,
        date_from: Any = None,
        date_to: Any = None,
        document_id: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.date_from = date_from
        self.date_to = date_to
        self.document_id = document_id

    def execute(self, context: Context) -> ReadResult:
        start, end = read_date_range(self.date_from, self.date_to, "date_from", "date_to")
        document_id = optional_whole_number(self.document_id, "document_id")
        window = self.read_window()
        with self.hook:
            transactions = self.hook.iter_transactions(
                self.resolve_location_id(), start_date=start, end_date=end, document_id=document_id, **window
            )
            return self.deliver(transactions, window["page_size"])


__all__ = [
    "CreateStorageOperationOperator",
    "DeleteStorageDocumentOperator",
    "ListStorageTransactionsOperator",
    "ListStoragesOperator",
    "LowStockReportOperator",
]
