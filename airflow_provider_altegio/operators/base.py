"""The bases of the provider's operators: connection ids, hooks built on first use, list reads
and asset events.

Cheap to import: DAG files import the operator modules on every parse, so hooks (httpx) and
models (pydantic) are imported inside the methods that need them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_provider_altegio.inputs import to_json
from airflow_provider_altegio.lineage import (
    Lineage,
    api_namespace,
    dataset_names,
    observe,
    read_count,
    summarize,
)
from airflow_provider_altegio.values import is_blank, whole_number

if TYPE_CHECKING:
    from collections.abc import Iterable

    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context, ObjectStoragePath

    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook
    from airflow_provider_altegio.hooks.base import ApiHook
    from airflow_provider_altegio.lineage import Observed
    from airflow_provider_altegio.results import ReadResult

JsonDict = dict[str, Any]


class LineageMixin(BaseOperator):
    """OpenLineage for an operator (see the docs' Lineage page), from what it declares: the
    datasets it reads and writes, as names filled from its inputs (:meth:`lineage_values`), and
    the XCom fields its run facet shows. Each ``execute`` keeps its XCom and its HTTP 429 waits
    for the complete or fail event (:func:`~airflow_provider_altegio.lineage.observe`).
    Airflow calls these methods only where ``apache-airflow-providers-openlineage`` is installed.
    """

    #: Dataset names read and written, e.g. ``"locations/{location_id}/products"``.
    lineage_reads: ClassVar[tuple[str, ...]] = ()
    lineage_writes: ClassVar[tuple[str, ...]] = ()
    #: The XCom fields the run facet shows (ids written, counts, documents).
    lineage_result: ClassVar[tuple[str, ...]] = ()
    observed: Observed | None = None

    if TYPE_CHECKING:

        @property
        def hook(self) -> ApiHook: ...

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "execute" in cls.__dict__:
            cls.execute = observe(cls.__dict__["execute"])  # type: ignore[method-assign]

    def lineage_values(self) -> dict[str, Any]:
        """The values the dataset names are filled from (``location_id``...)."""
        return {}

    def lineage_keys(self, task_instance: Any) -> list[str] | None:
        """The idempotency keys of what the task writes, known before it writes."""
        return None

    def lineage(self, task_instance: Any = None) -> Lineage:
        """What this task reads and writes, as far as it is known now."""
        values = self.lineage_values()
        seen = self.observed
        result = seen.result if seen is not None else None
        namespace = api_namespace(self.hook.conn_type, self.hook.get_conn().config.base_url)
        path = result.get("path") if isinstance(result, dict) else getattr(self, "output_path", None)
        files = [] if is_blank(path) or str(path) == "None" else [(str(path), read_count(result))]
        run: dict[str, Any] = {
            "api": self.hook.conn_type,
            "locationId": values.get("location_id"),
            "keys": self.lineage_keys(task_instance),
        }
        if seen is not None:
            waits = self.hook.get_conn().waits
            run |= {
                "rateLimitWaits": waits.throttled,
                "rateLimitWaitSeconds": round(waits.throttled_seconds, 3),
                "budgetWaitSeconds": round(waits.budget_seconds, 3),
                "result": summarize(result, self.lineage_result) or None,
            }
        return Lineage(
            namespace,
            reads=dataset_names(self.lineage_reads, values),
            writes=dataset_names(self.lineage_writes, values),
            files=files,
            rows_read=read_count(result),
            run=run,
        )

    def get_openlineage_facets_on_start(self) -> OperatorLineage:  # type: ignore[type-arg]
        from airflow_provider_altegio.lineage.facets import operator_lineage

        return operator_lineage(self.lineage())

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:  # type: ignore[type-arg]
        from airflow_provider_altegio.lineage.facets import operator_lineage

        return operator_lineage(self.lineage(task_instance))

    get_openlineage_facets_on_failure = get_openlineage_facets_on_complete


class AltegioBaseOperator(LineageMixin):
    """Base of every Altegio operator: the connection and the location.

    ``execute`` uses the hook as ``with self.hook:``, so its connection pool is closed when the
    task ends, however it ends. Declared asset ``outlets`` of a write get an event whose extra
    describes it (:meth:`record_outlets`).

    :param location_id: location (company) id; default: the connection's ``location_id`` extra.
        Templated.
    :param altegio_conn_id: Airflow connection of type ``altegio``.
    """

    template_fields: tuple[str, ...] = ("location_id",)
    ui_color = "#e8f4ea"

    def __init__(
        self, *, location_id: int | str | None = None, altegio_conn_id: str = "altegio_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.location_id = location_id
        self.altegio_conn_id = altegio_conn_id

    @cached_property
    def hook(self) -> AltegioHook:
        """The Altegio hook of ``altegio_conn_id`` (built on first use, never at parse time)."""
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        return AltegioHook(altegio_conn_id=self.altegio_conn_id)

    def lineage_values(self) -> dict[str, Any]:
        from airflow_provider_altegio.exceptions import InvalidRequestError

        try:
            return {"location_id": self.hook.resolve_location_id(self.location_id)}
        except InvalidRequestError:  # the task fails on it; lineage names what it can
            return {}

    def record_outlets(self, context: Context, **extra: Any) -> None:
        """Attach ``extra`` to the events Airflow emits for the task's declared asset outlets."""
        from airflow.sdk import Asset

        for outlet in self.outlets or ():
            if isinstance(outlet, Asset):
                context["outlet_events"][outlet].extra.update(to_json(extra))


class AltacolorBaseOperator(LineageMixin):
    """Base of every Altacolor operator.

    :param altacolor_conn_id: Airflow connection of type ``altacolor``.
    """

    ui_color = "#f4ece8"

    def __init__(self, *, altacolor_conn_id: str = "altacolor_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.altacolor_conn_id = altacolor_conn_id

    @cached_property
    def hook(self) -> AltacolorHook:
        """The Altacolor hook of ``altacolor_conn_id`` (built on first use, never at parse time)."""
        from airflow_provider_altegio.hooks.altacolor import AltacolorHook

        return AltacolorHook(altacolor_conn_id=self.altacolor_conn_id)


class ListReadMixin(BaseOperator):
    """What the list reads share: their XCom is a
    :class:`~airflow_provider_altegio.results.ReadResult`, streamed page by page.

    :param output_path: when set, items go to this ``ObjectStoragePath`` (or URL, or local path)
        as JSON lines instead of into the XCom. Templated.
    :param page_size: items per API page (1 to :attr:`max_page_size`).
    """

    #: Used in progress lines, e.g. "Altegio products".
    read_description = "items"
    default_page_size = 100
    max_page_size = 1000

    def __init__(
        self,
        *,
        output_path: ObjectStoragePath | str | None = None,
        page_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.output_path = output_path
        self.page_size = page_size

    def read_page_size(self) -> int:
        """``page_size`` as rendered, or the default.

        :raises InvalidRequestError: not a whole number from 1 to :attr:`max_page_size`.
        """
        if is_blank(self.page_size):
            return self.default_page_size
        return whole_number(self.page_size, "page_size", maximum=self.max_page_size)

    def deliver(self, items: Iterable[Any], page_size: int) -> ReadResult:
        """Consume the models in ``items`` into the read's XCom (or its file)."""
        from airflow_provider_altegio.results import deliver

        return deliver(items, self.read_description, page_size, self.output_path)
