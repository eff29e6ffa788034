"""The import reader behind the structure guard (issue #16): reads every import of the project's
packages with `ast` (nothing is imported, so it is fast and has no side effects) and counts what the
layering forbids. Used by tests/test_structure.py and scripts/structure; docs/architecture.md
("Layers and the import guard") explains each count.

The layer order is defined here and only here (the docs repeat it in prose)."""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

# ledger < core (the shared layer) < registry < the other apps < config. A package not named here is
# one of "the other apps" (layer 3).
# ocmf is a library of its own (no Django, no project import): the ground floor with the ledger.
LAYERS = {"ledger": 0, "ocmf": 0, "core": 1, "registry": 2, "config": 4}
OTHER_APPS_LAYER = 3

# Top-level directories that are not part of the layered code; migrations are skipped everywhere
# (Django generates them, and they reach models through apps.get_model by design).
EXCLUDED_TOP = {"tests", "bench", "scripts", ".venv", "var", "static", "templates", "locale", "platform", "docs"}
EXCLUDED_DIRS = {"migrations", "__pycache__"}

# What a contract module may not import: any module with one of these path components, or the submit module.
CONTRACT_FORBIDDEN_PARTS = {"services", "views", "selectors", "tasks"}

# The one module allowed to submit to the ledger from outside it.
SUBMIT_MODULES = {"core.submit"}
SUBMIT_SOURCE = "ledger.services"
SUBMIT_FUNCTIONS = {"tx_submit", "node_submit"}

# Dynamic imports that Django's loading or the test harness needs, each with its reason.
# Keyed by (module, call as written).
DYNAMIC_ALLOWED = {
    ("ledger.apps", "import_module"): "loads the test suite's hook modules named in PILECHAIN_TEST_HOOKS "
    "(tests.* only, checked before the import)",
}
DYNAMIC_CALLS = {"import_module", "importlib.import_module", "apps.get_model", "__import__"}

# An import inside a function is allowed when its (last) line ends with this comment and a reason,
# e.g. `from ledger.tasks import drain  # lazy-import: tasks import this module at load time`.
LAZY_REASON = "# lazy-import:"

# Test harnesses kept apart from the library they test (etcd-io/raft keeps its harness in rafttest/):
# nothing outside a harness package imports it.
HARNESS_PACKAGES = ("ledger.pbfttest",)

COUNT_NAMES = (
    "upward_imports",
    "module_circles",
    "app_circles",
    "contract_violations",
    "config_imports",
    "submit_outside",
    "dynamic_imports",
    "function_imports",
    "harness_imports",
)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    line: int
    target: str  # the imported project module, dotted (relative imports resolved)
    names: tuple[str, ...] = ()  # the names taken by `from target import ...` (empty for `import x`)
    in_function: bool = False
    type_checking: bool = False  # under `if TYPE_CHECKING:` — never runs, left out of every count


@dataclass
class Module:
    name: str
    path: Path
    imports: list[Import] = field(default_factory=list)
    # imports inside a function (any target) without a reason, and those with one: (line, reason)
    function_imports: list[tuple[int, str]] = field(default_factory=list)
    reasoned_function_imports: list[tuple[int, str]] = field(default_factory=list)
    dynamic_calls: list[tuple[int, str]] = field(default_factory=list)
    transaction_creates: list[int] = field(default_factory=list)


def top(module: str) -> str:
    return module.split(".", 1)[0]


def layer(module: str) -> int:
    return LAYERS.get(top(module), OTHER_APPS_LAYER)


def is_contract(module: str) -> bool:
    return any(part == "contracts" or part.startswith("contracts") for part in module.split("."))


# --- reading -----------------------------------------------------------------------------------------


def project_packages(root: Path) -> list[str]:
    """The top-level packages (directories with an __init__.py) that the guard reads."""
    if not root.is_dir():
        raise ValueError(f"not a directory: {root}")
    return sorted(
        p.name for p in root.iterdir()
        if p.is_dir() and p.name not in EXCLUDED_TOP and not p.name.startswith(".") and (p / "__init__.py").is_file()
    )


def module_files(root: Path, packages: list[str]) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if EXCLUDED_DIRS & set(rel.parts[:-1]):
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


class _Visitor(ast.NodeVisitor):
    def __init__(self, module: Module, is_package: bool, known: set[str], lines: list[str]):
        self.module = module
        self.lines = lines
        self.is_package = is_package
        self.known = known
        self.depth = 0  # functions we are inside
        self.type_checking = 0

    def _resolve(self, name: str) -> str | None:
        """The longest known project module that `name` starts with (a.b.c -> a.b when c is an attribute)."""
        parts = name.split(".")
        while parts:
            candidate = ".".join(parts)
            if candidate in self.known:
                return candidate
            parts.pop()
        return None

    def _add(self, line: int, target: str | None, names: tuple[str, ...] = ()) -> None:
        if target is None or target == self.module.name:
            return
        self.module.imports.append(
            Import(self.module.name, line, target, names, self.depth > 0, self.type_checking > 0))

    def _record_function_import(self, node: ast.AST, text: str) -> None:
        if self.depth > 0 and not self.type_checking:
            last = self.lines[node.end_lineno - 1]
            reason = last.split(LAZY_REASON, 1)[1].strip() if LAZY_REASON in last else ""
            if reason:
                self.module.reasoned_function_imports.append((node.lineno, reason))
            else:
                self.module.function_imports.append((node.lineno, text))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node.lineno, self._resolve(alias.name))
        self._record_function_import(node, "import " + ", ".join(a.name for a in node.names))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.module.name.split(".")
            if not self.is_package:
                base = base[:-1]
            if node.level - 1 > len(base) - 1:
                raise ValueError(f"{self.module.path}:{node.lineno}: relative import beyond the top-level package")
            base = base[: len(base) - (node.level - 1)]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        submodule_names = []
        for alias in node.names:
            sub = f"{origin}.{alias.name}"
            if sub in self.known:
                self._add(node.lineno, sub)
            else:
                submodule_names.append(alias.name)
        if submodule_names:
            self._add(node.lineno, self._resolve(origin), tuple(submodule_names))
        self._record_function_import(node, f"from {'.' * node.level}{node.module or ''} import "
                                     + ", ".join(a.name for a in node.names))

    def _function(self, node) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        guarded = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
        if guarded:
            self.type_checking += 1
            for child in node.body:
                self.visit(child)
            self.type_checking -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        called = _dotted(node.func)
        if called in DYNAMIC_CALLS:
            self.module.dynamic_calls.append((node.lineno, called))
        if called is not None and called.endswith("Transaction.create"):
            self.module.transaction_creates.append(node.lineno)
        self.generic_visit(node)


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def read_tree(root: Path) -> dict[str, Module]:
    """Every module of the project's packages under `root`, with its imports of project modules."""
    root = Path(root)
    files = module_files(root, project_packages(root))
    known = set(files)
    modules = {}
    for name, path in files.items():
        source = path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(source, filename=str(path))
        except SyntaxError as exc:
            raise ValueError(f"{path}: cannot be parsed: {exc}") from exc
        module = Module(name, path)
        _Visitor(module, path.name == "__init__.py", known, source.splitlines()).visit(tree)
        modules[name] = module
    return modules


# --- counting ----------------------------------------------------------------------------------------


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan, iterative), each sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


@dataclass
class Report:
    counts: dict[str, int]
    details: dict[str, list[str]]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _where(imp: Import) -> str:
    return f"{imp.source}:{imp.line} -> {imp.target}" + (" (in a function)" if imp.in_function else "")


def measure(modules: dict[str, Module]) -> Report:
    runtime = [imp for m in modules.values() for imp in m.imports if not imp.type_checking]
    details: dict[str, list[str]] = {name: [] for name in COUNT_NAMES}

    for imp in runtime:
        if layer(imp.source) < layer(imp.target):
            details["upward_imports"].append(
                f"{_where(imp)}: layer {layer(imp.source)} imports layer {layer(imp.target)}")
        if top(imp.target) == "config" and top(imp.source) != "config":
            details["config_imports"].append(_where(imp))
        if any(_within(imp.target, h) and not _within(imp.source, h) for h in HARNESS_PACKAGES):
            details["harness_imports"].append(_where(imp))
        if is_contract(imp.source):
            parts = set(imp.target.split("."))
            if parts & CONTRACT_FORBIDDEN_PARTS or imp.target in SUBMIT_MODULES:
                details["contract_violations"].append(_where(imp))

    # Circles: every runtime import is an edge, function-level ones included (a function-level import
    # is the usual way a circle is hidden, not a way out of it).
    module_graph: dict[str, set[str]] = defaultdict(set)
    app_graph: dict[str, set[str]] = defaultdict(set)
    for imp in runtime:
        module_graph[imp.source].add(imp.target)
        if top(imp.source) != top(imp.target):
            app_graph[top(imp.source)].add(top(imp.target))
    module_sccs = strongly_connected(module_graph)
    app_sccs = strongly_connected(app_graph)
    details["module_circles"] = [" <-> ".join(c) for c in module_sccs]
    details["app_circles"] = [" <-> ".join(c) for c in app_sccs]

    submitters = defaultdict(list)
    for name, module in modules.items():
        if top(name) == "ledger" or name in SUBMIT_MODULES:
            continue
        for imp in module.imports:
            if imp.target == SUBMIT_SOURCE and SUBMIT_FUNCTIONS & set(imp.names):
                taken = ", ".join(sorted(SUBMIT_FUNCTIONS & set(imp.names)))
                submitters[name].append(f"line {imp.line} imports {taken}")
            elif imp.target == SUBMIT_SOURCE and not imp.names:
                submitters[name].append(f"line {imp.line} imports {SUBMIT_SOURCE}")
        for line in module.transaction_creates:
            submitters[name].append(f"line {line} calls Transaction.create")
    details["submit_outside"] = [f"{name}: {'; '.join(why)}" for name, why in sorted(submitters.items())]

    for name, module in sorted(modules.items()):
        for line, called in module.dynamic_calls:
            if (name, called) not in DYNAMIC_ALLOWED:
                details["dynamic_imports"].append(f"{name}:{line} calls {called}")
        for line, text in module.function_imports:
            details["function_imports"].append(f"{name}:{line}: {text}")

    counts = {name: len(details[name]) for name in COUNT_NAMES}
    counts["module_circle_members"] = sum(len(c) for c in module_sccs)
    return Report(counts, details)


def measure_tree(root: Path) -> Report:
    return measure(read_tree(root))
