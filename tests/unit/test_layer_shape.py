"""The layer's shape: the pure modules never load boto3, and no two modules import each other."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from local.infrastructure import load_template
from tests.conftest import ROOT, TEMPLATE

LAYER = ROOT / "layers" / "core"
PACKAGE = LAYER / "lisoloo"
# The vocabulary and the rules over it: what a use case can reason with without any I/O.
PURE_MODULES = (
    "lisoloo.entities",
    "lisoloo.status",
    "lisoloo.segments",
    "lisoloo.phone",
    "lisoloo.recurrence",
    "lisoloo.webhooks.events",
)


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(LAYER).with_suffix("").parts).removesuffix(".__init__")


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every module a file imports (``from package import submodule`` counts as importing the
    submodule, when ``known`` has it)."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                imported.add(submodule if submodule in known else node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    return imported


def layer_modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def layer_imports() -> dict[str, set[str]]:
    """Each layer module and the layer modules it imports."""
    modules = layer_modules()
    return {
        name: {module for module in imports_of(path, set(modules)) if module in modules and module != name}
        for name, path in modules.items()
    }


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the list of modules around it, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                return [*path[path.index(imported) :], imported]
            if imported not in state and (circle := visit(imported)) is not None:
                return circle
        state[module] = "done"
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (circle := visit(module)) is not None:
            return circle
    return None


def test_no_module_of_the_layer_is_part_of_an_import_circle() -> None:
    assert find_circle(layer_imports()) is None


def test_the_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    circle = find_circle(graph)
    assert circle is not None and circle[0] == circle[-1] and set(circle) == {"a", "b", "c"}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_a_pure_module_loads_neither_boto3_nor_botocore(module: str) -> None:
    # A fresh interpreter: what importing the module really loads, third-party packages included.
    probe = (
        f"import sys; import {module}; "
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in ('boto3', 'botocore')); "
        "print(','.join(loaded))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env={"PYTHONPATH": str(LAYER)}, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "", f"{module} loads {completed.stdout.strip()}"


def test_the_operator_cli_is_not_in_the_deployed_layer() -> None:
    # What `sam build` packages as the layer: the template's ContentUri (SAM adds python/).
    content_uri = load_template(TEMPLATE)["Resources"]["CoreLayer"]["Properties"]["ContentUri"]
    content = (ROOT / content_uri).resolve()
    assert content == LAYER
    packaged = {
        path.name for path in content.iterdir() if not path.name.endswith(".egg-info") and path.name != "__pycache__"
    }
    assert packaged == {"lisoloo", "requirements.txt"}
    # ...and nothing in it is, or reaches for, the CLI: no argument parsing, no lisoloo_admin.
    modules = layer_modules()
    assert not [name for name in modules if name.rsplit(".", 1)[-1] in ("admin", "provisioning", "cli")]
    for name, path in modules.items():
        reached = {module.split(".")[0] for module in imports_of(path, set(modules))}
        assert not reached & {"argparse", "lisoloo_admin"}, f"{name} imports {reached & {'argparse', 'lisoloo_admin'}}"
