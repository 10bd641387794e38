"""The dataset naming scheme (docs/lineage.md), the run facet's summary of an XCom, and the
provider without OpenLineage."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from airflow_provider_altegio.lineage import api_namespace, dataset_names, file_dataset, read_count, summarize

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.alteg.io/api/v1", "altegio://api.alteg.io"),
        ("https://API.Alteg.io:443/api/v1/", "altegio://api.alteg.io"),
        ("http://127.0.0.1:8080/api/v1", "altegio://127.0.0.1:8080"),
        # Credentials, the query and the fragment are never part of a name.
        ("https://partner:s3cret-token@api.alteg.io/api/v1?password=hunter22#x", "altegio://api.alteg.io"),
    ],
)
def test_api_namespace_is_the_host_without_credentials(base_url: str, expected: str) -> None:
    assert api_namespace("altegio", base_url) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/tmp/run/products.jsonl", ("file", "/tmp/run/products.jsonl")),
        ("file:///tmp/run/products.jsonl", ("file", "/tmp/run/products.jsonl")),
        ("file://fileserver/share/products.jsonl", ("file://fileserver", "/share/products.jsonl")),
        # ObjectStoragePath puts the Airflow connection id where URLs put user info.
        ("s3://aws_prod@salon-exports/2026/products.jsonl", ("s3://salon-exports", "2026/products.jsonl")),
        ("s3a://salon-exports/products.jsonl", ("s3://salon-exports", "products.jsonl")),
        ("gcs://salon-exports/products.jsonl", ("gs://salon-exports", "products.jsonl")),
        ("gs://salon-exports/products.jsonl", ("gs://salon-exports", "products.jsonl")),
    ],
)
def test_files_are_named_as_the_openlineage_spec_names_them(path: str, expected: tuple[str, str]) -> None:
    assert file_dataset(path) == expected


def test_dataset_names_leave_out_a_template_without_its_value() -> None:
    templates = ("locations/{location_id}/documents", "locations/{location_id}/storages/{target_storage_id}")
    assert dataset_names(templates, {"location_id": 1001, "target_storage_id": None}) == [
        "locations/1001/documents"
    ]
    assert dataset_names(templates, {"location_id": 1001, "target_storage_id": 3102}) == [
        "locations/1001/documents",
        "locations/1001/storages/3102",
    ]
    assert dataset_names(templates, {}) == []


def test_the_run_facet_shows_counts_and_declared_fields_only() -> None:
    read = {"count": 3, "items": [{"good_id": 1}, {"good_id": 2}, {"good_id": 3}], "path": None}
    assert summarize(read, ()) == {"count": 3}
    assert read_count(read) == 3
    assert summarize([{"id": 1}, {"id": 2}], ()) == {"count": 2}
    product = {"good_id": 7, "title": "Shampoo", "cost": 12.5}
    assert summarize(product, ("good_id",)) == {"good_id": 7}
    assert read_count(product) is None
    assert summarize(None, ("good_id",)) == {}


def _operators() -> list[type]:
    from airflow_provider_altegio.operators import products, storage

    return [getattr(module, name) for module in (products, storage) for name in module.__all__]


@pytest.mark.parametrize("operator", _operators(), ids=lambda cls: cls.__name__)
def test_every_operator_declares_its_datasets_and_the_docs_list_them(operator: type) -> None:
    """Each operator reads or writes something, and the Lineage page's table lists exactly
    its datasets."""
    assert operator.lineage_reads or operator.lineage_writes
    page = (REPO / "docs" / "lineage.md").read_text()
    (row,) = [line for line in page.splitlines() if line.startswith(f"| `{operator.__name__}`")]
    _, reads, writes, _ = (cell.strip() for cell in row.split("|")[1:-1])
    assert reads.replace("`", "").split(", ") == list(operator.lineage_reads or ["-"])
    assert writes.replace("`", "").split(", ") == list(operator.lineage_writes or ["-"])


def test_the_provider_imports_nothing_of_openlineage(tmp_path: Path) -> None:
    """Importing every module (as a DAG file importing the operators does) loads no OpenLineage
    module: the lineage methods import it when Airflow calls them. (``tests/packaging`` runs an
    example DAG in a virtualenv without OpenLineage.)"""
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys

        import airflow_provider_altegio
        for module in pkgutil.walk_packages(airflow_provider_altegio.__path__, "airflow_provider_altegio."):
            if module.name != "airflow_provider_altegio.lineage.facets":
                importlib.import_module(module.name)
        # Airflow's providers manager reads the OpenLineage provider's metadata; nothing else.
        metadata = "airflow.providers.openlineage.get_provider_info"
        provider = "airflow.providers.openlineage."
        loaded = [
            m for m in sys.modules
            if m.split(".")[0] == "openlineage" or (m.startswith(provider) and m != metadata)
        ]
        assert not loaded, loaded
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


#: The least each operator needs to be built, for its start event.
REQUIRED: dict[str, dict[str, Any]] = {
    "GetProductOperator": {"product_id": 5},
    "CreateProductOperator": {"product": {"title": "Shampoo"}},
    "UpdateProductOperator": {"product_id": 5, "changes": {"critical_amount": 2}},
    "UpdateProductsOperator": {"changes": []},
    "DeleteProductOperator": {"product_id": 5},
    "CreateProductCategoryOperator": {"category": {"title": "Care"}},
    "UpdateProductCategoryOperator": {"category_id": 7, "changes": {"title": "Care"}},
    "DeleteProductCategoryOperator": {"category_id": 7},
    "CreateStorageOperationOperator": {
        "operation_type": "transfer",
        "storage_id": 3101,
        "target_storage_id": "3102",
        "transactions": [{"good_id": 5, "amount": 1, "cost_per_unit": 2}],
    },
    "DeleteStorageDocumentOperator": {"document_id": 9},
    "SearchProductsOperator": {"output_path": "s3://aws_prod@salon-exports/products.jsonl"},
}


@pytest.mark.parametrize("operator", _operators(), ids=lambda cls: cls.__name__)
def test_every_operator_names_its_datasets_before_it_runs_and_no_secret(
    operator: type, altegio_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start event of each operator, from a connection whose base URL carries user info and
    a query as well as its tokens: the names follow the scheme and no credential is anywhere."""
    from openlineage.client.serde import Serde

    sandbox = altegio_sandbox
    url = urlsplit(sandbox.altegio_url)
    connection = sandbox.altegio_connection(location_id=1001)
    connection["host"] = f"http://{sandbox.login}:{sandbox.password}@{url.netloc}{url.path}?token=hunter22x"
    monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_DEFAULT", json.dumps(connection))

    task = operator(task_id="t", **REQUIRED.get(operator.__name__, {}))
    lineage = task.get_openlineage_facets_on_start()
    api = "altacolor" if operator.__name__.startswith("Altacolor") else "altegio"
    base = urlsplit(sandbox.altacolor_url if api == "altacolor" else sandbox.altegio_url)
    values = {"location_id": 1001, "storage_id": 3101, "target_storage_id": 3102}
    expected_reads = {
        (f"{api}://{base.hostname}:{base.port}", n.format(**values)) for n in operator.lineage_reads
    }
    expected_writes = {
        (f"{api}://{base.hostname}:{base.port}", n.format(**values)) for n in operator.lineage_writes
    }
    if operator.__name__ == "SearchProductsOperator":
        expected_writes.add(("s3://salon-exports", "products.jsonl"))
    assert {(d.namespace, d.name) for d in lineage.inputs} == expected_reads
    assert {(d.namespace, d.name) for d in lineage.outputs} == expected_writes
    facet = lineage.run_facets["altegio"]
    assert facet.api == api
    assert facet.locationId == (1001 if api == "altegio" else None)
    text = Serde.to_json(lineage.run_facets) + "".join(
        Serde.to_json(d) for d in lineage.inputs + lineage.outputs
    )
    for secret in (sandbox.partner_token, sandbox.user_token, sandbox.password, "hunter22x", "aws_prod"):
        assert secret not in text
