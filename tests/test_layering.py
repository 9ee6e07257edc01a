"""The one-way data flow: ``esd/`` never imports ``app`` or ``viz``; ``viz/`` never imports ``app``.

Checked statically (every import statement of every module, including function-local ones) and
dynamically (importing every esd module loads neither package).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"esd": ("app", "viz"), "viz": ("app",)}


def imported_modules(path: Path) -> set[str]:
    """Top-level package names of every import in a source file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_a_layer_above(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    offending = {
        str(f.relative_to(ROOT)): sorted(imported_modules(f) & set(FORBIDDEN[package]))
        for f in files
        if imported_modules(f) & set(FORBIDDEN[package])
    }
    assert offending == {}


def test_importing_every_esd_module_loads_neither_viz_nor_app() -> None:
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "esd").rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('viz', 'app')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
