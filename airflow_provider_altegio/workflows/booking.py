"""Exactly-once storage operations, as a service any caller can drive (with or without Airflow).

Each document carries a key in its comment (``[airflow:<key>]``). :meth:`Booker.book_once`
looks for the key before creating again (on a retry, or after a lost answer), so a document is
created once however often its caller runs: a retried task, a re-run, a lost response.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_altegio.exceptions import (
    AltegioNotFoundError,
    AltegioValidationError,
    AmbiguousWriteError,
    InvalidRequestError,
)

if TYPE_CHECKING:
    from airflow_provider_altegio.hooks.altegio import AltegioHook
    from airflow_provider_altegio.models.altegio import Product, StorageOperationRequest, TransactionRequest

log = logging.getLogger(__name__)

#: Longest pause between two searches while waiting for a request that may still be in flight.
MAX_SEARCH_PAUSE = 10.0
_STAMP = "[airflow:{}]"


def idempotency_key(*parts: Any) -> str:
    """A short stable key of ``parts`` (the same on every try of the same work)."""
    material = "\x1f".join(json.dumps(part, sort_keys=True, default=str) for part in parts)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def document_key(task: str, location_id: int, request: StorageOperationRequest) -> str:
    """The key of one document of a task (``task``: e.g. ``dag/run/task``): its location,
    storage, type and lines, so neither the order of mapped inputs nor the date changes it.
    Two documents a task books with the same storage, type and lines are one document."""
    lines = sorted((line.good_id, line.amount, line.operation_unit_type) for line in request.transactions)
    return idempotency_key(task, location_id, request.storage_id, int(request.type_id), lines)


def stamp_comment(comment: str | None, key: str) -> str:
    """The user's comment followed by the key marker, so the comment stays readable."""
    text = (comment or "").strip()
    return f"{text} {_STAMP.format(key)}" if text else _STAMP.format(key)


def carries_key(comment: str | None, key: str) -> bool:
    """Whether a document comment carries the marker of ``key``."""
    return bool(comment) and _STAMP.format(key) in str(comment)


def stamped(request: StorageOperationRequest, key: str) -> StorageOperationRequest:
    """``request`` with ``key`` stamped into its comment."""
    return request.model_copy(update={"comment": stamp_comment(request.comment, key)})


def overdrawn(takes: Iterable[tuple[Product, int, float]]) -> Iterator[tuple[int, float, float]]:
    """``(index, taken before, on hand)`` of each take ``(product, storage_id, sale units)`` that,
    added to the earlier takes of that product and storage (those not overdrawn themselves),
    exceeds the stock on hand there."""
    taken: dict[tuple[Any, int], float] = defaultdict(float)
    for index, (product, storage_id, amount) in enumerate(takes):
        key, on_hand = (product.good_id, storage_id), product.amount_in(storage_id)
        if taken[key] + amount > on_hand + 1e-9:
            yield index, taken[key], on_hand
        else:
            taken[key] += amount


@dataclass
class Booking:
    """One document booked exactly once: ``created`` is false when an earlier try (or a lost
    answer) had created it already."""

    key: str
    document_id: int | None
    transaction_ids: list[int]
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "transaction_ids": self.transaction_ids,
            "created": self.created,
            "key": self.key,
        }


@dataclass
class Booker:
    """Books storage operations of one location exactly once.

    :param hook: the Altegio hook to book through.
    :param location_id: the location every document belongs to.
    :param since: how far back the search for an earlier document looks (the run's start, less
        a margin for clock skew).
    :param grace: seconds to keep looking after a create got no answer at all (the request may
        still be on its way through the server).
    """

    hook: AltegioHook
    location_id: int
    since: datetime
    grace: float = 10.0
    sleep: Callable[[float], object] = field(default=time.sleep, repr=False)

    def book_once(
        self,
        request: StorageOperationRequest,
        key: str,
        *,
        look_first: float | None = None,
        check_stock: bool = True,
    ) -> Booking:
        """The document carrying ``key``: an earlier one if it exists, else a new one.

        :param request: the document, its comment stamped with ``key`` (:func:`stamped`).
        :param look_first: look for an earlier document for up to this many seconds before
            creating (a retry: ``0`` looks once); ``None``: create at once.
        :param check_stock: refuse an outflow of more than the storage holds.
        :raises InvalidRequestError: not enough stock, no such storage or product; nothing was
            written.
        :raises AmbiguousWriteError: the answer was lost and no document carries the key yet.
        """
        if look_first is not None:
            found = self.await_existing(request, key, look_first)
            if found is not None:
                return found
        if check_stock:
            self.check_stock(request)
        try:
            created = self.hook.create_storage_operation(request, self.location_id)
        except (AltegioValidationError, AltegioNotFoundError) as exc:
            # Refused, nothing written: name the likeliest causes the API's answer points to.
            self.hook.check_storage(request.storage_id, self.location_id)
            if any("good_id" in field for field in getattr(exc, "errors", {})):
                self.products(request)
            raise
        except AmbiguousWriteError as exc:
            log.warning("The answer to the create was lost (%s); looking for key %s", exc, key)
            in_flight = exc.status_code is None  # no answer at all: it may still be on its way
            found = self.await_existing(request, key, self.grace if in_flight else 0.0)
            if found is not None:
                return found
            raise AmbiguousWriteError(
                f"{exc.message}; no document carrying key {key} exists, so the operation was not "
                "applied as far as the API shows. A retry looks again before creating.",
                status_code=exc.status_code,
                method=exc.method,
                url=exc.url,
            ) from exc
        ids = [tx.id for tx in created.transactions if tx.id is not None]
        kind = request.type_id.name.lower()
        log.info(
            "Created %s document %s with %d transactions (key %s)", kind, created.document.id, len(ids), key
        )
        return Booking(key, created.document.id, ids, created=True)

    def add_lines_once(self, document_id: int, lines: list[TransactionRequest], key: str) -> list[int]:
        """Add ``lines`` to an existing document (a delivery arriving in parts), each exactly once:
        line ``i`` carries ``[airflow:<key>-<i>]`` in its comment, and the document's lines are
        read first, so a line already there (an earlier try, a lost answer) is not added again.

        :return: the transaction ids of every line, in order, added now or before.
        :raises AmbiguousWriteError: a line's answer was lost and the document does not show it.
        """
        keys = [f"{key}-{index}" for index in range(len(lines))]
        found = self._lines_carrying(document_id, keys)
        for index, line in enumerate(lines):
            if keys[index] in found:
                log.info("Line %d of document %s is there already (key %s)", index, document_id, keys[index])
                continue
            stamped_line = line.model_copy(update={"comment": stamp_comment(line.comment, keys[index])})
            try:
                added = self.hook.add_document_line(document_id, stamped_line, self.location_id)
            except AmbiguousWriteError:
                found |= self._lines_carrying(document_id, keys[index : index + 1])
                if keys[index] not in found:
                    raise
                continue
            found[keys[index]] = added.id or 0
        return [found[k] for k in keys]

    def _lines_carrying(self, document_id: int, keys: list[str]) -> dict[str, int]:
        """``{key: transaction id}`` of the document's lines that carry one of ``keys``."""
        found = {}
        for tx in self.hook.list_document_transactions(document_id):
            for key in keys:
                if tx.id is not None and not tx.deleted and carries_key(tx.comment, key):
                    found[key] = tx.id
        return found

    def products(self, request: StorageOperationRequest) -> list[Product]:
        """The product of each line of ``request``, read at the fewest requests
        (:func:`~airflow_provider_altegio.workflows.catalogue.find_products`).

        :raises InvalidRequestError: ``transactions[i].good_id`` of the first line whose product
            the location does not have.
        """
        from airflow_provider_altegio.workflows.catalogue import find_products

        codes = {("good_id", str(line.good_id)) for line in request.transactions}
        found = find_products(self.hook, codes, self.location_id)
        for index, line in enumerate(request.transactions):
            if not found[("good_id", str(line.good_id))]:
                raise InvalidRequestError(
                    f"transactions[{index}].good_id",
                    f"location {self.location_id} has no product {line.good_id}",
                )
        return [found[("good_id", str(line.good_id))][0] for line in request.transactions]

    def check_stock(self, request: StorageOperationRequest) -> None:
        """Refuse to take out more than the storage holds (sale, usage, write-off).

        Amounts of one product are added up across lines; a line in the service unit
        (``operation_unit_type=2``, ml) counts as ``amount / unit_equals`` sale units.

        :raises InvalidRequestError: ``transactions[i].amount`` of the first line too many, or
            ``storage_id`` when the location has no such storage.
        """
        if not request.type_id.is_outflow:
            return
        takes = [
            (
                product,
                request.storage_id,
                line.amount / (product.unit_equals or 1.0) if line.operation_unit_type == 2 else line.amount,
            )
            for product, line in zip(self.products(request), request.transactions, strict=True)
        ]
        for index, before, on_hand in overdrawn(takes):
            self.hook.check_storage(request.storage_id, self.location_id)
            product, _, amount = takes[index]
            raise InvalidRequestError(
                f"transactions[{index}].amount",
                f"{request.type_id.name.lower()} of {before + amount:g} of product {product.good_id} "
                f"exceeds the {on_hand:g} on hand in storage {request.storage_id} "
                "(allow_negative_stock=True to send it anyway)",
            )

    def find_existing(self, request: StorageOperationRequest, key: str) -> Booking | None:
        """The document of an earlier try that carries ``key``, or ``None``.

        Reads the transactions changed since :attr:`since`, keeps those of this storage and
        products, and reads their documents' comments, newest first. Live listings were seen to
        drop rows at page boundaries while rows changed, so a walk that finds nothing is
        repeated once with pages one row shorter: its boundaries fall elsewhere.
        """
        goods = {line.good_id for line in request.transactions}
        checked: set[int] = set()
        for page_size in (self.hook.page_size, max(1, self.hook.page_size - 1)):
            candidates: dict[int, list[int]] = defaultdict(list)
            for tx in self.hook.iter_transactions(
                self.location_id, changed_after=self.since, page_size=page_size
            ):
                ours = tx.storage_id == request.storage_id and tx.good_id in goods
                if ours and tx.document_id is not None and tx.id is not None and not tx.deleted:
                    candidates[tx.document_id].append(tx.id)
            fresh = sorted(set(candidates) - checked, reverse=True)
            log.info("Looking for key %s among %d candidate documents", key, len(fresh))
            for document_id in fresh:
                checked.add(document_id)
                if carries_key(self.hook.get_storage_document(document_id, self.location_id).comment, key):
                    log.info("Document %s already carries key %s: not creating again", document_id, key)
                    return Booking(key, document_id, sorted(candidates[document_id]), created=False)
        return None

    def await_existing(self, request: StorageOperationRequest, key: str, grace: float) -> Booking | None:
        """:meth:`find_existing`, repeated with growing pauses until found or ``grace`` seconds passed."""
        deadline = time.monotonic() + grace
        pause = 1.0
        while True:
            found = self.find_existing(request, key)
            remaining = deadline - time.monotonic()
            if found is not None or remaining <= 0:
                return found
            log.info(
                "Key %s not found yet; the request may still be in flight: next look in %.0fs", key, pause
            )
            self.sleep(min(pause, remaining))
            pause = min(pause * 2, MAX_SEARCH_PAUSE)
