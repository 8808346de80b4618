"""The integration's modules import only downwards, in the layer order the README states."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "custom_components" / "flatpeak"

# Bottom to top; a module may import its own layer and the layers below.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("API clients", frozenset({"api"})),
    ("constants", frozenset({"const"})),
    ("pure logic", frozenset({"problems", "schedule"})),
    (
        "coordinators, stores, the writer and the dispatch targets",
        frozenset(
            {
                "listeners",
                "timer",
                "writer",
                "store",
                "coordinator",
                "soc",
                "selectors",
                "dispatch",
                "devices",
                "presentation",
            }
        ),
    ),
    ("runtime data", frozenset({"data"})),
    (
        "entities, flows, actions, repairs, diagnostics",
        frozenset(
            {
                "entity",
                "binary_sensor",
                "calendar",
                "event",
                "number",
                "sensor",
                "config_flow",
                "migration",
                "credentials",
                "device_forms",
                "device_flow",
                "services",
                "repairs",
                "diagnostics",
            }
        ),
    ),
    ("wiring", frozenset({"__init__"})),
)
LAYER_OF = {module: index for index, (_, modules) in enumerate(LAYERS) for module in modules}
# Free of Home Assistant: publishable, or testable as plain functions.
WITHOUT_HOME_ASSISTANT = frozenset({"api", "const", "problems", "schedule"})
# Files of a package that are free of Home Assistant too: a dispatch target's plan.
FILES_WITHOUT_HOME_ASSISTANT = frozenset(
    {"dispatch/flip/const.py", "dispatch/flip/listing.py", "dispatch/flip/plan.py"}
)


def module_of(path: Path) -> str:
    """The top-level module of the package a file belongs to (api/ is one)."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imports(path: Path) -> list[tuple[str, bool]]:
    """The package's modules and the outside modules a file imports, at run time or not.

    Each is (name, inside the package): a relative import is resolved from the
    file's folder, and names the top-level module it reaches. Imports under
    TYPE_CHECKING count too: an arrow is an arrow.
    """
    found: list[tuple[str, bool]] = []
    folder = path.parent.relative_to(PACKAGE).parts
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, False) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.module or "", False))
                continue
            base = folder[: len(folder) - (node.level - 1)]
            names = [node.module] if node.module else [alias.name for alias in node.names]
            found.extend(((*base, *name.split("."))[0], True) for name in names)
    return found


def all_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    assert {module_of(path) for path in all_files()} == set(LAYER_OF)


@pytest.mark.parametrize("path", all_files(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_imports_one_above_it(path: Path) -> None:
    module = module_of(path)
    free = module in WITHOUT_HOME_ASSISTANT or (
        str(path.relative_to(PACKAGE)) in FILES_WITHOUT_HOME_ASSISTANT
    )
    for name, inside in imports(path):
        if not inside:
            if free:
                assert not name.startswith("homeassistant"), f"{module} imports {name}"
            continue
        assert LAYER_OF[name] <= LAYER_OF[module], (
            f"{module} ({LAYERS[LAYER_OF[module]][0]}) imports {name} "
            f"({LAYERS[LAYER_OF[name]][0]}), a layer above it"
        )


def test_no_import_circle() -> None:
    graph: dict[str, set[str]] = {module: set() for module in LAYER_OF}
    for path in all_files():
        module = module_of(path)
        graph[module] |= {name for name, inside in imports(path) if inside and name != module}

    def visit(module: str, trail: tuple[str, ...]) -> None:
        for name in graph[module]:
            assert name not in trail, " -> ".join((*trail, name))
            visit(name, (*trail, name))

    for module in graph:
        visit(module, (module,))
