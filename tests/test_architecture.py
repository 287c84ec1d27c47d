"""The house's plan: what each part of kerasnas may import, and no import circle.

Read from the code (every `import`, lazy ones inside functions included;
`if TYPE_CHECKING:` blocks left out: annotations only, never run). README's
"Layout" section states the same table.
"""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Lowest first: a module may import its own part and the parts before it.
LAYERS = (
    ("base", ("_config", "_quiet", "files", "provenance", "lock", "budget_plan", "pareto",
              "keras_tuner_internals")),
    ("data", ("datasets",)),
    ("models", ("layers", "footprint", "spaces")),
    ("oracles", ("oracles", "proxies")),
    ("training", ("settings", "backends", "precision", "strategy", "schedules", "early_stopping",
                  "tuner", "distributed", "final", "reference")),
    ("methods", ("methods", "ray")),
    ("run", ("run_folder", "trials_table", "progress", "summary", "report", "drawing")),
    ("entry", ("search", "cli", "run", "__init__")),
)
# Beside the layers: what they may use.
SIDE = {"testing": "run"}


def modules():
    out = {}
    for folder, _, files in os.walk(os.path.join(ROOT, "kerasnas")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                out[dotted.removesuffix(".__init__")] = path
    return out


def _is_type_checking(node):
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(path, module, known):
    """The kerasnas modules `path` imports, at any depth, outside `if TYPE_CHECKING:`."""
    found = set()

    def visit(node):
        if _is_type_checking(node):
            return
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and name.startswith("kerasnas"):
                found.add(name)
        for child in ast.iter_child_nodes(node):
            visit(child)

    with open(path) as f:
        visit(ast.parse(f.read()))
    # `from kerasnas.datasets import X` names the package: keep the deepest match only.
    return {m for m in found if not any(o.startswith(m + ".") for o in found)} or found


def part(module):
    top = module.split(".")[1] if "." in module else "__init__"
    for rank, (name, members) in enumerate(LAYERS):
        if top in members:
            return name, rank
    if top in SIDE:
        return top, None
    raise AssertionError(f"{module} belongs to no part of the plan: add it to LAYERS or SIDE")


def rank_of(name):
    return [n for n, _ in LAYERS].index(name)


def graph():
    known = modules()
    return {m: imports(p, m, known) for m, p in known.items()}


def test_every_module_imports_only_its_own_part_and_the_parts_below():
    wrong = []
    for module, targets in graph().items():
        name, rank = part(module)
        limit = rank if rank is not None else rank_of(SIDE[name])
        for target in targets:
            target_name, target_rank = part(target)
            allowed = target_name == name or (target_rank is not None and target_rank <= limit)
            if not allowed:
                wrong.append(f"{module} ({name}) imports {target} ({target_name})")
    assert wrong == []


def test_no_import_circle():
    edges = graph()
    circles = []

    def reaches(start, goal, seen):
        for nxt in edges.get(start, ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reaches(nxt, goal, seen):
                    return True
        return False

    for module in edges:
        # A package's __init__ imports its submodules; a submodule importing the package
        # itself would close a circle, and is caught here like any other.
        if reaches(module, module, set()):
            circles.append(module)
    assert circles == []


def test_the_plan_sees_lazy_imports_and_skips_type_checking_blocks(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                    "    from kerasnas.run_folder import Run\n"
                    "def f():\n    from kerasnas.tuner import NASTuner\n")
    known = {"kerasnas.run_folder", "kerasnas.tuner"}
    assert imports(str(path), "kerasnas.x", known) == {"kerasnas.tuner"}


def _top_level_names(path):
    with open(path) as f:
        tree = ast.parse(f.read())
    names = set()
    for node in ast.walk(tree):  # if/try blocks at module level define names too
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def test_every_kerasnas_import_anywhere_in_the_repository_resolves():
    """A renamed module leaves no stale import behind, lazy ones included (one in a
    benchmark once reached CI only through a slow test)."""
    known = modules()
    stale = []
    for top in ("kerasnas", "benchmarks", "tests", "scripts"):
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
            for file in (f for f in files if f.endswith(".py")):
                path = os.path.join(folder, file)
                with open(path) as f:
                    tree = ast.parse(f.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        pairs = [(a.name, None) for a in node.names]
                    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                        pairs = [(node.module, a.name) for a in node.names]
                    else:
                        continue
                    for module, name in pairs:
                        if not module.startswith("kerasnas"):
                            continue
                        where = os.path.relpath(path, ROOT)
                        if module not in known:
                            stale.append(f"{where}:{node.lineno} imports {module}")
                        elif (name not in (None, "*") and f"{module}.{name}" not in known
                              and name not in _top_level_names(known[module])):
                            stale.append(f"{where}:{node.lineno} imports {name} from {module}")
    assert stale == []
