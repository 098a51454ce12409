"""DESIGN.md: nothing happens on import, and imports run one way. Importing any homework module
imports no TensorFlow, sets no environment variable and adds no warning filter (compat sets
TensorFlow up on first use), and no homework module imports another that imports it back."""
import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "homework"


def modules():
    """{module name: its file} for every module of the homework package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


IMPORT_ALL = """
import importlib, json, os, sys, warnings
import numpy  # numpy adds filters of its own when first imported; every homework module imports it
environ, filters = dict(os.environ), list(warnings.filters)
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps({"tensorflow": sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tf_keras", "keras", "tensorflow_hub")),
                  "environ": sorted(k for k in set(environ) | set(os.environ) if environ.get(k) != os.environ.get(k)),
                  "filters": [str(f) for f in warnings.filters if f not in filters]}))
"""


def test_importing_every_module_has_no_side_effects():
    names = list(modules())
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL, json.dumps(names)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    effects = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(names) > 40 and "homework.compat" in names
    assert effects == {"tensorflow": [], "environ": [], "filters": []}


def imported_modules(path: Path, name: str, known) -> set:
    """The homework modules `path` (module `name`) imports anywhere in it, functions included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: the package, one level up for each further dot
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{node.module}" if node.module else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:  # a name imported from a module -> that module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_no_homework_modules_import_each_other():
    paths = modules()
    graph = {name: imported_modules(path, name, paths) for name, path in paths.items()}
    assert {"homework.errors", "homework.compat"} <= graph["homework.cli"]  # imports at the top and inside functions
    pairs = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if a < b and a in graph[b])
    assert pairs == []
    # nor in a longer circle: peel off modules that import nothing left, until none remain
    left = dict(graph)
    while True:
        leaves = [name for name, deps in left.items() if not deps & left.keys()]
        if not leaves:
            break
        for name in leaves:
            del left[name]
    assert not left, f"import circle among {sorted(left)}"
