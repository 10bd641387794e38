"""Every example the API documents parses with the models.

Sources, in order of preference:

1. The shared documents beside the repository (``../shared/seeds/*.txt`` and
   ``../shared/reference/yclients-inventory-excerpt.apib``; CI clones have them), or the directory
   named by ``ALTEGIO_DOCS_DIR``.
2. ``tests/fixtures/documented/examples.json``: the same examples extracted from those files,
   checked in so that a clone without ``../shared`` still runs every case (never a silent skip).
   Regenerate it with ``python tests/unit/test_documented_examples.py --write-fixtures``.

The examples are not strict JSON: the blueprint has unquoted keys, trailing commas and a missing
comma; the web pages elide objects as ``{ … }`` and prefix keys with ``•``. :func:`loads_tolerant`
repairs exactly those, outside strings, and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import pytest

from airflow_provider_altegio.models.altacolor import (
    AltacolorProductResponse,
    AltacolorSearchResult,
    SearchCondition,
    encode_search,
)
from airflow_provider_altegio.models.altegio import (
    Category,
    CategoryCreate,
    CategoryNode,
    CategoryUpdate,
    Product,
    ProductCreate,
    ProductTreeElement,
    ProductUpdate,
    Storage,
    StorageDocument,
    StorageOperationRequest,
    StorageOperationResult,
    Transaction,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "documented" / "examples.json"
APIB_NAME = "yclients-inventory-excerpt.apib"


def shared_docs_dir() -> Path:
    """Where the shared API documents are expected."""
    override = os.environ.get("ALTEGIO_DOCS_DIR")
    return Path(override) if override else REPO.parent / "shared"


# --------------------------------------------------------------------------------------------
# Tolerant JSON
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)
_PUNCTUATION = frozenset("{}[]:,")


def _ends_value(token: str) -> bool:
    return token in ("}", "]") or token not in _PUNCTUATION


def _starts_value(token: str) -> bool:
    return token in ("{", "[") or token not in _PUNCTUATION


def loads_tolerant(text: str) -> Any:
    """Parse the documents' JSON-like examples.

    Repairs, outside strings only: elisions ``…`` and bullets ``•`` are dropped, bare keys are
    quoted, trailing commas are dropped and a missing comma between two values is inserted.
    """
    tokens = _TOKEN.findall(text.replace("…", " ").replace("•", " "))
    out: list[str] = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token == "," and following in ("}", "]", ","):
            continue
        if token not in _PUNCTUATION and not token.startswith('"') and following == ":":
            token = json.dumps(token)
        if out and _ends_value(out[-1]) and _starts_value(token):
            out.append(",")
        out.append(token)
    return json.loads("".join(out))


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One example found in a document.

    ``kind`` is ``response`` (a whole body), ``data`` (the example of a ``data`` field),
    ``request`` (a JSON request body) or ``form`` (a form-encoded request body).
    """

    source: str
    line: int
    kind: str
    method: str
    path: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.source}:{self.line}:{self.kind}:{self.method} {self.path}"


_MOCK_PREFIX = re.compile(r"^https?://[^/]+/(?:_mock/[^/]+/[^/]+/openapi/|api/v1/)")
_CURL_METHOD = re.compile(r"^curl\s.*-X\s+([A-Z]+)")
_FIELD_LABEL = re.compile(r"^(success|data|meta)[A-Za-z]")


def normalise_path(path: str) -> str:
    """``/goods/{company_id}/{good_id}{?term,page}`` -> ``goods/{}/{}``."""
    path = _MOCK_PREFIX.sub("", path.strip().strip("'\""))
    path = re.sub(r"\{\?[^}]*\}", "", path).split("?", 1)[0]
    return re.sub(r"\{[^}]*\}", "{}", path).strip("/")


def extract_seed_examples(source: str, text: str) -> list[Example]:
    """Examples of a seed page: curl bodies, ``Example:`` of ``data`` fields and response bodies."""
    lines = text.splitlines()
    examples: list[Example] = []
    method = path = ""
    label = ""
    index = 0
    while index < len(lines):
        raw = lines[index]
        line = raw.strip()
        number = index + 1
        index += 1
        if match := _CURL_METHOD.match(line):
            method = match.group(1)
            path = normalise_path(lines[index].strip().rstrip("\\").strip()) if index < len(lines) else ""
        elif line in ("Product Search", "Get Product"):  # Altacolor page headings
            method, path = (
                ("POST", "altacolor/find") if line == "Product Search" else ("GET", "altacolor/get")
            )
        elif line.startswith("-d '"):
            body = [line[len("-d '") :]]
            while "'" not in body[-1] and index < len(lines):
                body.append(lines[index])
                index += 1
            joined = "\n".join(body)
            joined = joined[: joined.index("'")]
            if joined.lstrip().startswith(("{", "[")) and joined != "[object Object]":
                examples.append(Example(source, number, "request", method, path, joined))
        elif _FIELD_LABEL.match(line):
            label = _FIELD_LABEL.match(line).group(1)  # type: ignore[union-attr]
        elif line.startswith("Example: ") and line[len("Example: ") :].startswith(("{", "[")):
            if label == "data":
                examples.append(Example(source, number, "data", method, path, line[len("Example: ") :]))
        elif line.startswith("{") and '"success"' in line:
            examples.append(Example(source, number, "response", method, path, line))
        elif line == "{":  # a multi-line sample, as on the Altacolor page
            body = [line]
            while index < len(lines) and lines[index].rstrip() != "}":  # the closing brace at column 0
                body.append(lines[index])
                index += 1
            body.append("}")
            index += 1
            examples.append(Example(source, number, "response", method, path, "\n".join(body)))
        elif method == "POST" and path == "altacolor/find" and re.match(r"^\w+=[^ ]*&", line):
            examples.append(Example(source, number, "form", method, path, line))
    return examples


_APIB_RESOURCE = re.compile(r"^##\s+[^\[]*\[(?P<path>/[^\]]*)\]\s*$")
_APIB_ACTION = re.compile(r"^###\s+[^\[]*\[(?P<method>[A-Z]+)(?:\s+(?P<path>/[^\]]*))?\]\s*$")


def extract_apib_examples(source: str, text: str) -> list[Example]:
    """The ``+ Body`` blocks of a blueprint, with the method and path they belong to."""
    lines = text.splitlines()
    examples: list[Example] = []
    method = path = section = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        index += 1
        if match := _APIB_RESOURCE.match(stripped):
            path, method = normalise_path(match.group("path")), ""
        elif match := _APIB_ACTION.match(stripped):
            method = match.group("method")
            if match.group("path"):
                path = normalise_path(match.group("path"))
        elif stripped.startswith("+ Request"):
            section = "request"
        elif stripped.startswith("+ Response"):
            section = "response"
        elif stripped == "+ Body":
            indent = len(line) - len(line.lstrip())
            start = index + 1
            body: list[str] = []
            while index < len(lines):
                following = lines[index]
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following)
                index += 1
            if "".join(body).strip():
                examples.append(Example(source, start, section, method, path, "\n".join(body).strip()))
    return examples


def extract_all(docs: Path) -> list[Example]:
    """Every example of the shared documents under ``docs``."""
    examples: list[Example] = []
    for seed in sorted((docs / "seeds").glob("*.txt")):
        examples += extract_seed_examples(f"seeds/{seed.name}", seed.read_text(encoding="utf-8"))
    apib = docs / "reference" / APIB_NAME
    if apib.is_file():
        examples += extract_apib_examples(f"reference/{APIB_NAME}", apib.read_text(encoding="utf-8"))
    return examples


def load_fixture() -> list[Example]:
    payload = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return [Example(**item) for item in payload["examples"]]


def write_fixture(examples: list[Example]) -> None:
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "note": (
            "Examples extracted verbatim (not repaired) from ../shared/seeds/*.txt and "
            f"../shared/reference/{APIB_NAME} by tests/unit/test_documented_examples.py "
            "--write-fixtures. Used when ../shared is absent. See README.md here."
        ),
        "examples": [asdict(example) for example in examples],
    }
    FIXTURE.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _shared_available() -> bool:
    docs = shared_docs_dir()
    return any((docs / "seeds").glob("*.txt")) or (docs / "reference" / APIB_NAME).is_file()


def documented_examples() -> tuple[str, list[Example]]:
    """The examples under test and where they came from."""
    if _shared_available():
        return str(shared_docs_dir()), extract_all(shared_docs_dir())
    return str(FIXTURE.relative_to(REPO)), load_fixture()


ORIGIN, EXAMPLES = documented_examples()


# --------------------------------------------------------------------------------------------
# Which model reads which example
# --------------------------------------------------------------------------------------------

# (method or "*", path pattern) -> model of the response data. First match wins.
RESPONSE_MODELS: list[tuple[str, str, type[BaseModel]]] = [
    ("*", r"goods/search/\{\}", ProductTreeElement),
    ("*", r"goods/category_node/\{\}/\{\}", CategoryNode),
    ("*", r"goods/\{\}(/\{\})?", Product),
    ("*", r"(company/\{\}/)?goods_categories(/multiple)?/\{\}(/\{\})?", Category),
    ("*", r"storages/transactions/\{\}", Transaction),
    ("*", r"storages/\{\}", Storage),
    ("*", r"storage_operations/operation/\{\}", StorageOperationResult),
    ("*", r"storage_operations/goods_transactions/\{\}(/\{\})?", Transaction),
    ("*", r"storage_operations/documents/goods_transactions/\{\}", Transaction),
    ("*", r"storage_operations/documents/\{\}(/\{\})?", StorageDocument),
    ("POST", r"altacolor/find", AltacolorSearchResult),
    ("GET", r"altacolor/get", AltacolorProductResponse),
]

# Request bodies the provider sends, and the request model that must accept them.
REQUEST_MODELS: list[tuple[str, str, type[BaseModel]]] = [
    ("POST", r"goods/\{\}", ProductCreate),
    ("PUT", r"goods/\{\}/\{\}", ProductUpdate),
    ("POST", r"goods_categories/\{\}", CategoryCreate),
    ("PUT", r"goods_categories/\{\}/\{\}", CategoryUpdate),
    ("POST", r"storage_operations/operation/\{\}", StorageOperationRequest),
]
#: The team member the reference's storage-operation sample is read with (it sends 0).
SUPERSEDED_MASTER_ID = 990101
# Documented request bodies of endpoints the provider does not call (single transactions and
# bare documents are created only through storage operations). They must still load.
UNUSED_REQUESTS = [
    ("POST", r"storage_operations/goods_transactions/\{\}"),
    ("POST", r"storage_operations/documents/\{\}"),
]


# Documented responses of endpoints the provider does not read. They must still load as JSON.
UNREAD_RESPONSES = [r"storage_operations/documents/finance_transactions/\{\}"]


def _lookup(table: list[tuple[str, str, type[BaseModel]]], example: Example) -> type[BaseModel] | None:
    for method, pattern, model in table:
        if method in ("*", example.method) and re.fullmatch(pattern, example.path):
            return model
    return None


def _parse_data(model: type[BaseModel], data: Any) -> list[BaseModel]:
    items = data if isinstance(data, list) else [data]
    return [model.model_validate(item) for item in items]


def parse_example(example: Example) -> list[BaseModel]:
    """Validate one example with its model; returns the parsed objects."""
    if example.kind == "form":
        params = dict(parse_qsl(example.text))
        condition = SearchCondition.from_input({k: params[k] for k in ("field", "condition", "date1")})
        return [condition]
    payload = loads_tolerant(example.text)
    if example.kind == "request":
        request_model = _lookup(REQUEST_MODELS, example)
        if request_model is None:
            assert any(example.method == m and re.fullmatch(p, example.path) for m, p in UNUSED_REQUESTS), (
                f"no request model for {example.id}"
            )
            assert isinstance(payload, dict)
            return []
        if request_model is StorageOperationRequest and payload.get("master_id") == 0:
            # The reference predates the evidence: the live API refuses an operation without a
            # team member ("Staff member required"), so the sample is read with one.
            payload = {**payload, "master_id": SUPERSEDED_MASTER_ID}
        return [request_model.model_validate(payload)]
    model = _lookup(RESPONSE_MODELS, example)
    if model is None:
        assert any(re.fullmatch(p, example.path) for p in UNREAD_RESPONSES), f"no model for {example.id}"
        assert isinstance(payload, (dict, list))
        return []
    if example.kind == "data":
        return _parse_data(model, payload)
    assert isinstance(payload, dict)
    if "success" in payload:  # the Altegio envelope
        assert payload["success"] is True  # meta is absent from the category_node example
        return _parse_data(model, payload["data"])
    return [model.model_validate(payload)]


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_examples_were_found() -> None:
    # Guards against a silent pass: the documents hold dozens of examples.
    assert len(EXAMPLES) >= 30, f"only {len(EXAMPLES)} examples found in {ORIGIN}"
    kinds = {example.kind for example in EXAMPLES}
    assert kinds == {"response", "data", "request", "form"}, kinds
    sources = {example.source.split("/")[0] for example in EXAMPLES}
    assert sources == {"seeds", "reference"}


def test_every_response_model_has_an_example() -> None:
    used = {_lookup(RESPONSE_MODELS, e) for e in EXAMPLES if e.kind in ("response", "data")}
    assert used >= {model for _, _, model in RESPONSE_MODELS}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.id)
def test_documented_example_parses(example: Example) -> None:
    parse_example(example)


def test_fixture_matches_the_shared_documents() -> None:
    if not _shared_available():
        pytest.skip(f"{shared_docs_dir()} is absent; the other tests ran on the checked-in fixture")
    assert load_fixture() == extract_all(shared_docs_dir()), (
        "tests/fixtures/documented/examples.json is stale: run "
        "python tests/unit/test_documented_examples.py --write-fixtures"
    )


def _find(kind: str, path: str, method: str = "GET", source: str = "") -> list[Example]:
    return [
        e
        for e in EXAMPLES
        if e.kind == kind and e.path == path and e.method == method and e.source.startswith(source)
    ]


def test_blueprint_storages_read_for_service_as_for_services() -> None:
    (example,) = _find("response", "storages/{}", source="reference")
    storages = parse_example(example)
    assert [s.for_services for s in storages] == [True, False, False]  # type: ignore[attr-defined]
    assert [s.to_json_dict()["for_services"] for s in storages] == [True, False, False]  # type: ignore[attr-defined]


def test_blueprint_product_numbers_as_strings() -> None:
    (example,) = _find("response", "goods/{}/{}", source="reference")
    (product,) = parse_example(example)
    assert isinstance(product, Product)
    assert product.good_id == 123456
    assert product.cost == 100500
    assert product.amount_in(987) == 1_000_000
    assert product.last_change_date is not None
    assert product.last_change_date.isoformat() == "2017-01-01T12:00:00+04:00"


def test_seed_003_product_data_object() -> None:
    examples = _find("data", "goods/{}", method="POST", source="seeds/003")
    assert examples, "seed 003 product data object not found"
    (product,) = parse_example(examples[0])
    assert isinstance(product, Product)
    assert product.good_id == 123456
    assert product.service_unit_id == 3548
    assert product.amount_in(987) == 1_000_000
    assert product.to_json_dict()["loyalty_abonement_type_id"] == "150"
    assert product.last_change_date is not None
    assert product.last_change_date.isoformat() == "2026-01-01T12:00:00-05:00"


def test_seed_003_and_002_categories() -> None:
    (listing,) = _find("data", "company/{}/goods_categories/{}", source="seeds/003")
    categories = parse_example(listing)
    assert [(c.id, c.parent_category_id, c.is_chain) for c in categories] == [  # type: ignore[attr-defined]
        (1035384, None, True),
        (961078, None, False),
    ]
    created = _find("response", "goods_categories/{}", method="POST", source="seeds/002")
    (category,) = parse_example(created[0])
    assert isinstance(category, Category)
    assert (category.id, category.title, category.parent_category_id) == (123456, "Manicure", 123457)


def test_blueprint_transactions_fall_back_to_nested_ids() -> None:
    (example,) = _find("response", "storages/transactions/{}", source="reference")
    (transaction,) = parse_example(example)
    assert isinstance(transaction, Transaction)
    assert transaction.good_id == 111222333
    assert transaction.storage_id == 333222111
    assert transaction.type == "Нечто"
    assert transaction.cost_per_unit == 1.07


def test_blueprint_storage_operation_round_trip() -> None:
    """The reference's older sample (``transactions``, a wall-clock date, ``master_id: 0``) is
    still read, and goes out in the official form: ``goods_transactions``, the date with the
    location's offset, a team member on the document and every line."""
    from datetime import timedelta, timezone

    (request_example,) = _find("request", "storage_operations/operation/{}", method="POST")
    documented = loads_tolerant(request_example.text)
    with pytest.raises(ValueError, match="master_id"):
        StorageOperationRequest.model_validate(documented)
    (request,) = parse_example(request_example)
    assert isinstance(request, StorageOperationRequest)
    request.create_date = request.create_date.replace(tzinfo=timezone(timedelta(hours=-5)))
    body = request.to_api()
    assert "transactions" not in body
    assert body["create_date"] == "2017-04-25T14:00:00.000-05:00"
    assert body["master_id"] == SUPERSEDED_MASTER_ID
    assert [line["good_id"] for line in body["goods_transactions"]] == [
        line["good_id"] for line in documented["transactions"]
    ]
    assert all(line["master_id"] == SUPERSEDED_MASTER_ID for line in body["goods_transactions"])
    (response_example,) = _find("response", "storage_operations/operation/{}", "POST", "reference")
    (result,) = parse_example(response_example)
    assert isinstance(result, StorageOperationResult)
    assert result.document.id == 22255506
    assert result.transactions[0].amount == -1
    assert result.transactions[0].master is None


def test_seed_004_request_sample_encodes_back() -> None:
    (example,) = [e for e in EXAMPLES if e.kind == "form"]
    (condition,) = parse_example(example)
    assert isinstance(condition, SearchCondition)
    params = encode_search(condition)
    assert {k: params[k] for k in ("field", "condition", "date1")} == dict(parse_qsl(example.text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{id: "1", title: "x",}', {"id": "1", "title": "x"}),
        ('{"a": [1, 2,],\n "b": 1}', {"a": [1, 2], "b": 1}),
        ('{"a": [1]\n "b": {"c": "d: e, f"}}', {"a": [1], "b": {"c": "d: e, f"}}),
        ('{ "data": [ { … }, { … } ], "meta": { "count": 2 } }', {"data": [{}, {}], "meta": {"count": 2}}),
        ('{\n  • "products": [\n    ],\n  • "total": 2\n}', {"products": [], "total": 2}),
    ],
)
def test_loads_tolerant_repairs(text: str, expected: Any) -> None:
    assert loads_tolerant(text) == expected


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-fixtures"]:
        sys.exit("usage: python tests/unit/test_documented_examples.py --write-fixtures")
    if not _shared_available():
        sys.exit(f"{shared_docs_dir()} is missing; nothing to extract")
    found = extract_all(shared_docs_dir())
    write_fixture(found)
    print(f"wrote {len(found)} examples to {FIXTURE}")
