"""The house's structure, checked against its own description.

The rooms and what each may import are read from the table in docs/design.md, so the
document and this test cannot drift apart. Every import of every module of the package
(at the top of a file and inside functions) is parsed with ``ast`` and mapped to its
room; an import the table does not allow, a cycle between rooms and a cycle between
modules each fail, naming the files and lines.
"""
import ast
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "chainrule"
DESIGN = ROOT / "docs" / "design.md"
FACADE = "chainrule/__init__.py"



# ----- the table of rooms, from docs/design.md ------------------------------------------------------
def _design_table():
    """[(room, [rooms it may import])] in the order of the table under 'Layers of the house', bottom first."""
    text = DESIGN.read_text(encoding="utf-8")
    section = text.split("## Layers of the house", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows, "docs/design.md: no table of rooms under 'Layers of the house'"
    table = []
    for line in rows:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        room = _room_name(re.findall(r"`([^`]+)`", cells[0])[0])
        if cells[-1] == "everything above":
            allowed = [earlier for earlier, _ in table]
        else:
            allowed = [_room_name(name) for name in re.findall(r"`([^`]+)`", cells[-1])]
            assert allowed or cells[-1] == "nothing", f"docs/design.md: cannot read the imports of {room}: {cells[-1]!r}"
        table.append((room, allowed))
    return table


def _room_name(written):
    """`nn/` -> 'nn', `demo.py` -> 'demo.py', `chainrule/__init__.py` -> the facade, `linalg` -> 'linalg'."""
    if written == FACADE:
        return FACADE
    return written.rstrip("/")


TABLE = _design_table()
ROOMS = [room for room, _ in TABLE]


def _allowed_closure():
    """Each room with every room it may import, directly or through the rooms it may import."""
    closure = {}
    for room, allowed in TABLE:                    # bottom first, so every allowed room is already closed
        reach = set()
        for other in allowed:
            reach |= {other} | closure[other]
        closure[room] = reach
    return closure


def test_the_table_of_rooms_points_down_only():
    """Every room named in a row's imports is a room listed above it, so the table has no cycle."""
    seen = set()
    for room, allowed in TABLE:
        above = [other for other in allowed if other not in seen]
        assert not above, f"docs/design.md: {room} may import {above}, which are not rooms listed above it"
        assert room not in seen, f"docs/design.md: {room} is listed twice"
        seen.add(room)


def test_every_room_of_the_package_is_in_the_table():
    folders = {path.name for path in PACKAGE.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    root_modules = {path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py"}
    missing = sorted((folders | root_modules) - set(ROOMS))
    assert not missing, f"rooms missing from the table in docs/design.md: {missing}"


# ----- the imports of the package -----------------------------------------------------------------
def _modules():
    """Dotted module name -> path, for every module of the package."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _room_of_module(name):
    """The room of a dotted module name of the package (chainrule itself is the facade)."""
    parts = name.split(".")
    if len(parts) == 1:
        return FACADE
    if (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return parts[1] + ".py"


def _imported_modules(module, path):
    """[(imported module, line)] for every import in the file, at module level and inside functions.

    ``from package import name`` imports the module ``package.name`` when there is one (``from chainrule
    import nn``), else the package itself (``from chainrule import tensor`` reads the facade).
    """
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            names = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source
                     for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] != "chainrule":
                continue
            while name not in MODULES:                     # import chainrule.nn.functional.F -> the module
                name = name.rpartition(".")[0]
            if name != module:
                found.append((name, node.lineno))
    return found


IMPORTS = {module: _imported_modules(module, path) for module, path in MODULES.items()}


def _where(module, line):
    return f"{MODULES[module].relative_to(ROOT)}:{line}"


def _room_imports():
    """(importing room, imported room) -> ['file:line', ...], over every import that crosses rooms."""
    crossings = {}
    for module, imports in IMPORTS.items():
        room = _room_of_module(module)
        for imported, line in imports:
            other = _room_of_module(imported)
            if other != room:
                crossings.setdefault((room, other), []).append(_where(module, line))
    return crossings


ROOM_IMPORTS = _room_imports()


def test_no_room_imports_a_room_the_table_does_not_allow():
    """Arrows point down: each import between rooms is one docs/design.md allows (a lower room, directly
    or through the rooms it may import). The facade is above every room it imports, so none of them uses it."""
    closure = _allowed_closure()
    upward = {pair: places for pair, places in ROOM_IMPORTS.items()
              if pair[1] not in closure[pair[0]]}
    report = [f"{room} imports {other} ({', '.join(places[:3])}{', ...' if len(places) > 3 else ''})"
              for (room, other), places in sorted(upward.items())]
    assert not report, "imports that point up the table of rooms in docs/design.md:\n  " + "\n  ".join(report)


def _cycles(edges):
    """The strongly connected components with more than one member (Tarjan), each sorted."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(MODULES)))
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return components


def test_no_cycle_between_rooms():
    edges = {}
    for room, other in ROOM_IMPORTS:
        edges.setdefault(room, set()).add(other)
    assert not _cycles(edges), f"rooms that import each other: {_cycles(edges)}"


def _module_cycles():
    hub_top_level = _top_level_import_lines(MODULES[HUB])
    edges = {}
    for module, imports in IMPORTS.items():
        for imported, line in imports:
            if module == HUB and imported.startswith("chainrule.core.") and line not in hub_top_level:
                continue  # a door of Tensor's, inside its method (see HUB)
            edges.setdefault(module, set()).add(imported)
    return _cycles(edges)


# Tensor is core's hub: its methods are doors to core modules built on it (the walk, autograd.Function,
# hooks, creation), imported inside those methods. Those doors are the one kind of back-edge the
# module graph may hold; any other cycle, in core or elsewhere, fails.
HUB = "chainrule.core.tensor"


def _top_level_import_lines(path):
    return {node.lineno for node in ast.parse(path.read_text(encoding="utf-8")).body
            if isinstance(node, (ast.Import, ast.ImportFrom))}


def test_no_cycle_between_modules():
    """Within a room too: e.g. linalg's decompositions and solvers, nn.functional and nn.attention."""
    cycles = _module_cycles()
    assert not cycles, "modules that import each other (directly or around a loop):\n  " + "\n  ".join(
        " <-> ".join(cycle) for cycle in cycles)


def test_core_imports_nothing_from_ops():
    """The knot of issue #13: Tensor's methods reach ops because ops hands itself to core, not by an import."""
    places = ROOM_IMPORTS.get(("core", "ops"), [])
    assert not places, f"core imports ops at {places}"


def test_the_parser_sees_imports_inside_functions_and_resolves_each_to_a_module(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text("import numpy\n\n\ndef f():\n    from chainrule import nn\n    import chainrule.optim.sgd\n"
                    "    from chainrule import tensor\n    from . import trainer\n    from .trainer import Trainer\n")
    found = [name for name, _ in _imported_modules("chainrule.train.probe", path)]
    assert found == ["chainrule.nn", "chainrule.optim.sgd", "chainrule", "chainrule.train.trainer",
                     "chainrule.train.trainer"]
    assert [_room_of_module(name) for name in found] == ["nn", "optim", FACADE, "train", "train"]


# ----- what ``import chainrule`` loads ----------------------------------------------------------------
HEAVY = ("scipy.stats", "matplotlib", "torch", "tqdm", "safetensors", "graphviz", "PIL", "mpi4py", "onnx",
         "onnxruntime")


def test_import_chainrule_loads_no_heavy_module():
    """scipy.stats alone took about a second of a 1.3 s import; heavy modules load when first used."""
    code = "import sys, chainrule; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    heavy = sorted(name for name in loaded if any(name == h or name.startswith(h + ".") for h in HEAVY))
    assert not heavy, f"import chainrule loaded {heavy}"
