"""The core is sans-I/O (DESIGN.md): it imports nothing that does I/O or keeps
time, and nothing from the layers above it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "server" / "accord" / "core"
FORBIDDEN = {
    "asyncio", "socket", "sqlite3", "redis", "socketio", "engineio", "starlette", "uvicorn",
    "websockets", "aiohttp", "httpx", "threading", "subprocess", "time", "datetime", "os",
    "pathlib", "random", "secrets",
}  # fmt: skip
ALLOWED_OWN = "accord.core"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_modules_import_no_io_nor_upper_layers() -> None:
    offenders = []
    for path in sorted(CORE.glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in FORBIDDEN or (
                name.startswith("accord.") and not name.startswith(ALLOWED_OWN)
            ):
                offenders.append(f"{path.name}: {name}")
    assert offenders == [], offenders


def test_importing_the_core_loads_no_io_library() -> None:
    code = (
        "import sys, accord.core, accord.core.check; "
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{sorted(FORBIDDEN - {'os', 'pathlib', 'time', 'datetime', 'threading', 'random'})!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", out.stdout
