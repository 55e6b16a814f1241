"""The public API and the shape of the package, checked against the docs and the code.

- ``rnnsym.__all__`` is exactly the API documented in ``docs/api.md``;
- every public name is re-exported from its home module and shadows no submodule;
- imports point down the pipeline: no import cycle among ``rnnsym.*`` modules,
  read from the source with :mod:`ast` (nothing is imported to find imports),
  and no module grows past :data:`MAX_LINES` lines;
- the layout in ``docs/architecture.md`` lists every file under ``rnnsym/``, in
  an order where each module imports only modules listed above it;
- every ``rnnsym.x.y`` the docs name exists, and the design docs cite nothing
  outside the repository.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import rnnsym

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rnnsym"
DOCS = ROOT / "docs"
API = DOCS / "api.md"

#: No module of rnnsym may pass this many lines.
MAX_LINES = 420
#: Source text that marks an import allowed to point up the pipeline (rnnsym/testing/candidates.py).
OPTIONAL_IMPORT = "the optional hypothesis import"


# --- the documented API -------------------------------------------------------------------------------


def documented_names(text: str) -> set[str]:
    """The names of the list items ``- `name(...)` — …`` in the sections before "Modules for more"
    (items at the start of a line; an indented item describes something inside one)."""
    top = re.split(r"^#+\s*Modules for more", text, maxsplit=1, flags=re.M)[0]
    return set(re.findall(r"^[-*] +`([A-Za-z_][A-Za-z0-9_]*)", top, flags=re.M))


def test_all_is_the_documented_api():
    documented = documented_names(API.read_text(encoding="utf-8"))
    exported = set(rnnsym.__all__)
    undocumented = sorted(exported - documented)
    not_exported = sorted(documented - exported)
    assert not undocumented and not not_exported, (
        f"in rnnsym.__all__ but not in docs/api.md: {undocumented}; "
        f"in docs/api.md but not in rnnsym.__all__: {not_exported}"
    )


def test_all_has_no_duplicates():
    assert len(rnnsym.__all__) == len(set(rnnsym.__all__)), sorted(n for n in rnnsym.__all__ if rnnsym.__all__.count(n) > 1)


@pytest.mark.parametrize("name", rnnsym.__all__)
def test_public_name_is_reexported_from_its_home(name):
    assert hasattr(rnnsym, name), f"rnnsym.{name} is in __all__ but cannot be imported from rnnsym"
    obj = getattr(rnnsym, name)
    assert not inspect.ismodule(obj), f"rnnsym.{name} is a module, not a name of the API"
    if inspect.isclass(obj) or inspect.isfunction(obj):
        home = obj.__module__
        assert home.startswith("rnnsym.") and home != "rnnsym", f"rnnsym.{name} is defined in {home!r}, not in a module of rnnsym"
        assert getattr(importlib.import_module(home), name, None) is obj, f"rnnsym.{name} is not {home}.{name}"


def _submodules(package) -> set[str]:
    return {info.name for info in pkgutil.iter_modules(package.__path__)}


def _hiding(package) -> list[str]:
    """Submodules of ``package`` whose name is bound, in the package, to something other than the module."""
    names = vars(package)
    return sorted(name for name in _submodules(package) if name in names and not inspect.ismodule(names[name]))


def test_no_public_name_shadows_a_submodule():
    in_all = sorted(set(rnnsym.__all__) & _submodules(rnnsym))
    assert not in_all, f"these names of rnnsym.__all__ are also submodules of rnnsym: {in_all}"
    hidden = _hiding(rnnsym)
    assert not hidden, f"these attributes of rnnsym hide its submodules of the same name: {hidden}"


@pytest.mark.parametrize("package", [
    "rnnsym.cells",
    "rnnsym.derivation",
    "rnnsym.printing",
    "rnnsym.analysis",
    "rnnsym.testing",
])
def test_no_subpackage_name_shadows_its_submodule(package):
    shadowing = _hiding(importlib.import_module(package))
    assert not shadowing, f"{package} has names that hide its submodules: {shadowing}"


# --- the import structure, read from the code -----------------------------------------------------------


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _skipped(tree: ast.AST, lines: list[str]) -> set[int]:
    """ids of import nodes that do not count: inside ``_repr_*`` functions (the notebook
    hooks), or on a line that carries :data:`OPTIONAL_IMPORT`."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("_repr_"):
            skip.update(id(n) for n in ast.walk(node))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            source = "\n".join(lines[node.lineno - 1 : (node.end_lineno or node.lineno)])
            if OPTIONAL_IMPORT in source:
                skip.add(id(node))
    return skip


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The rnnsym modules ``name`` imports: each ``import a.b`` and ``from a.b import c``
    (relative ones resolved; ``c`` counts when ``a.b.c`` is a module), each target also
    importing the packages that contain it, except ``name``'s own packages."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, str(path))
    skip = _skipped(tree, text.splitlines())
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = here[: len(here) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known)
    edges = set()
    for target in targets:
        while target and target not in known:  # ``from a.b import c`` where c is a name: a.b
            target = target.rpartition(".")[0]
        while target:
            if target != name and not name.startswith(target + "."):
                edges.add(target)
            target = target.rpartition(".")[0]
    return edges


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, …, a]``, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_import_graph_reads_the_code():
    graph = import_graph()
    assert "rnnsym.models" in graph["rnnsym"]
    assert {"rnnsym.cells", "rnnsym.graph"} <= graph["rnnsym.models"]  # from .cells import …, from .graph import …
    assert "rnnsym.printing.line" in graph["rnnsym.printing"]  # from .line import … inside the package
    assert "rnnsym.strategies" not in graph["rnnsym.testing.candidates"]  # the optional hypothesis import


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_module_is_too_long():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    offenders = {name: n for name, n in sorted(sizes.items()) if n > MAX_LINES}
    assert not offenders, f"modules longer than {MAX_LINES} lines: {offenders}"


# --- the layout in docs/architecture.md ---------------------------------------------------------------

ARCHITECTURE = DOCS / "architecture.md"


def layout() -> list[str]:
    """The files the layout section of docs/architecture.md lists, in order (paths under rnnsym/)."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = re.split(r"^## ", text.split("\n## The layout", 1)[1], maxsplit=1, flags=re.M)[0]
    return re.findall(r"^- `([^`]+)` — ", section, flags=re.M)


def _module_name(relative: str) -> str:
    parts = Path("rnnsym", relative).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_layout_lists_every_file():
    files = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    listed = layout()
    assert len(listed) == len(set(listed)), sorted(f for f in listed if listed.count(f) > 1)
    missing = sorted(files - set(listed) - {"__init__.py"})
    stale = sorted(set(listed) - files)
    assert not missing and not stale, (
        f"files under rnnsym/ missing from the layout of docs/architecture.md: {missing}; "
        f"listed there but not in rnnsym/: {stale}"
    )


def test_layout_order_is_the_import_order():
    graph = import_graph()
    order = [_module_name(f) for f in layout() if f.endswith(".py")]
    seen: set[str] = set()
    upward = []
    for name in order:
        own = name + "." if Path(PACKAGE, *name.split(".")[1:], "__init__.py").exists() else None
        for target in sorted(graph.get(name, ())):
            if target not in seen and not (own and target.startswith(own)):
                upward.append(f"{name} imports {target}, listed below it")
        seen.add(name)
    assert not upward, "docs/architecture.md lists modules out of import order: " + "; ".join(upward)


# --- module names in the docs ---------------------------------------------------------------------------

DOTTED = re.compile(r"\brnnsym(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def resolves(dotted: str) -> bool:
    """Whether ``rnnsym.a.b…`` names an existing module, or a name inside one."""
    obj = rnnsym
    prefix = "rnnsym"
    for part in dotted.split(".")[1:]:
        prefix = f"{prefix}.{part}"
        if inspect.ismodule(obj) and hasattr(obj, "__path__") and importlib.util.find_spec(prefix) is not None:
            obj = importlib.import_module(prefix)
        elif hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            return False
    return True


def test_resolves():
    assert resolves("rnnsym.analysis.flow.jacobian_chain") and resolves("rnnsym.errors.InputError")
    assert not resolves("rnnsym.ops") and not resolves("rnnsym.derive.scalar")


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")) + [ROOT / "README.md"], ids=lambda p: p.name)
def test_docs_name_modules_that_exist(doc):
    names = sorted(set(DOTTED.findall(doc.read_text(encoding="utf-8"))))
    stale = [n for n in names if not resolves(n)]
    assert not stale, f"{doc.name} names modules or names that do not exist: {stale}"


@pytest.mark.parametrize("doc", [DOCS / "architecture.md", API], ids=lambda p: p.name)
def test_design_docs_cite_only_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    outside = [s for s in ("DESIGN.md", "STYLE.md", "/work/", "shared/") if s in text]
    assert not outside, f"{doc.name} cites files outside the repository: {outside}"
