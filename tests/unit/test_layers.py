"""The package's layers (docs/architecture.md): each module imports only from its own layer or
those below, never another module's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_altegio"

#: Lowest first. A module may import from its own layer and the ones below it.
LAYERS: list[set[str]] = [
    {"exceptions", "values", "compat"},
    {"core", "get_provider_info", "connection_forms", "fanout"},
    {"models"},
    {"hooks"},
    {"workflows", "results", "inputs", "lineage"},
    {"operators", "sensors", "triggers"},
]
#: Outside the stack: the sandbox, which imports nothing of the client side but its secret
#: masking and the Airflow names of compat, so no API assumption is shared by both.
APART = {"sandbox": set()}
SANDBOX_MAY_USE = {"airflow_provider_altegio.core.secrets", "airflow_provider_altegio.compat"}
#: Deprecated aliases kept where a name moved up a layer (CHANGELOG, 0.2.0); they go with them.
SHIMS = {
    ("models/orders.py", "airflow_provider_altegio.workflows.restock"),
    ("models/stocklists.py", "airflow_provider_altegio.workflows.stocklists"),
}


def _layer(top: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if top in names)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every import of the package in ``path``, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        module = getattr(node, "module", None) or ""
        if isinstance(node, ast.ImportFrom) and module.startswith("airflow_provider_altegio"):
            found.append((module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("airflow_provider_altegio.")]
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers_and_skip_private_names(path: Path) -> None:
    where = str(path.relative_to(PACKAGE))
    top = where.split("/")[0].removesuffix(".py")
    for module, names in _imports(path):
        target = module.split(".")
        if len(target) == 1 or (where, module) in SHIMS or (top == "sandbox" and module in SANDBOX_MAY_USE):
            continue
        if top in APART:
            assert target[1] in APART[top] | {top}, f"{where} imports {module}"
        else:
            assert _layer(target[1]) <= _layer(top), f"{where} ({top}) imports upwards: {module}"
        private = [name for name in names if name.startswith("_")] + [p for p in target if p.startswith("_")]
        assert not private, f"{where} imports private names {private} from {module}"
