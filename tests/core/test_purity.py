"""The core is sans-I/O (DESIGN.md): it imports nothing that does I/O or keeps
time, nothing from the layers above it, and nothing of its own in a circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "server" / "accord" / "core"
FORBIDDEN = {
    "asyncio", "socket", "sqlite3", "redis", "socketio", "engineio", "starlette", "uvicorn",
    "websockets", "aiohttp", "httpx", "threading", "subprocess", "time", "datetime", "os",
    "pathlib", "random", "secrets",
}  # fmt: skip
ALLOWED_OWN = "accord.core"


def module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parents[1]).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _runtime_imports(path: Path) -> set[str]:
    """The core modules `path` imports when it runs: at module level, outside
    `if TYPE_CHECKING:` (annotations only; `from __future__ import annotations`)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    # `accord.core` itself only re-exports (docs and the hub import from it).
    return {n for n in names if n in MODULES and n != "accord.core"}


def test_core_modules_import_no_io_nor_upper_layers() -> None:
    offenders = []
    for name, path in MODULES.items():
        for imported in _imports(path):
            top = imported.split(".")[0]
            if top in FORBIDDEN or (
                imported.startswith("accord.") and not imported.startswith(ALLOWED_OWN)
            ):
                offenders.append(f"{name}: {imported}")
    assert offenders == [], offenders


def test_the_core_imports_nothing_in_a_circle() -> None:
    """The module graph (what each module imports when it runs, a package
    counting as its __init__) has no cycle: every module can be loaded after
    the ones it needs."""
    graph = {name: _runtime_imports(path) - {name} for name, path in MODULES.items()}
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", " → ".join((*trail, name))
        state[name] = "open"
        for dependency in sorted(graph[name]):
            visit(dependency, (*trail, name))
        state[name] = "done"
        order.append(name)

    for name in sorted(graph):
        visit(name, ())
    assert len(order) == len(MODULES)


def test_the_playbook_format_is_below_the_decider() -> None:
    """The circle playbook → check → decide → state → playbook is gone: the
    format (schema.py) imports neither the checker nor the decider."""
    below: set[str] = set()
    frontier = ["accord.core.schema"]
    while frontier:
        name = frontier.pop()
        for dependency in _runtime_imports(MODULES[name]):
            if dependency not in below:
                below.add(dependency)
                frontier.append(dependency)
    assert not below & {"accord.core.check", "accord.core.decide", "accord.core.playbook"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_imports_alone_in_a_fresh_interpreter(name: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", f"import {name}"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr


def test_importing_the_core_loads_no_io_library() -> None:
    code = (
        "import sys, accord.core, accord.core.check; "
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{sorted(FORBIDDEN - {'os', 'pathlib', 'time', 'datetime', 'threading', 'random'})!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", out.stdout
