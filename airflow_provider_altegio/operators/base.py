"""The bases of the provider's operators: connection ids, hooks built on first use, list reads
and asset events.

Cheap to import: DAG files import the operator modules on every parse, so hooks (httpx) and
models (pydantic) are imported inside the methods that need them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_altegio.inputs import to_json
from airflow_provider_altegio.values import is_blank, whole_number

if TYPE_CHECKING:
    from collections.abc import Iterable

    from airflow.sdk import Context, ObjectStoragePath

    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook
    from airflow_provider_altegio.results import ReadResult

JsonDict = dict[str, Any]


class AltegioBaseOperator(BaseOperator):
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

    def record_outlets(self, context: Context, **extra: Any) -> None:
        """Attach ``extra`` to the events Airflow emits for the task's declared asset outlets."""
        from airflow.sdk import Asset

        for outlet in self.outlets or ():
            if isinstance(outlet, Asset):
                context["outlet_events"][outlet].extra.update(to_json(extra))


class AltacolorBaseOperator(BaseOperator):
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
