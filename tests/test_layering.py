"""The one-way data flow of the packages, checked statically and by import.

    common -> motion -> corpus | models -> erasure | evaluation -> pretrain -> workbench
           -> the command-line modules (esd.train, esd.evaluate, ...) -> app.py and viz/

* A library module imports only its own package and the layers below it (``LAYERS``); erasure
  and evaluation sit side by side and never import each other.
* No library module imports a command-line module (``CLI_MODULES``): entry points sit on top.
* ``esd/`` never imports ``app`` or ``viz``; ``viz/`` never imports ``app``.

Every import statement counts, including function-local ones.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"esd": ("app", "viz"), "viz": ("app",)}
LAYERS = {  # package -> rank; a module may import packages of a lower rank (and its own)
    "esd.common": 0,
    "esd.motion": 1,
    "esd.corpus": 2,
    "esd.models": 2,
    "esd.erasure": 3,
    "esd.evaluation": 3,
    "esd.pretrain": 4,
    "esd.workbench": 5,
}
CLI_MODULES = frozenset(
    {
        "esd.console",
        "esd.train",
        "esd.evaluate",
        "esd.generate",
        "esd.recognise",
        "esd.import_bvh",
        "esd.pretrain.cli",
        "esd.pretrain.__main__",
        "esd.corpus.__main__",
    }
)


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports(path: Path) -> set[str]:
    """Absolute dotted names of every import in a source file (``from a.b import c``: a.b.c)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def package_of(name: str) -> str | None:
    return next((p for p in LAYERS if name == p or name.startswith(p + ".")), None)


LIBRARY = sorted(p for p in (ROOT / "esd").rglob("*.py") if module_name(p) not in CLI_MODULES)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_app_or_viz_from_below(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    top = {f: {n.split(".")[0] for n in imports(f)} for f in files}
    offending = {
        str(f.relative_to(ROOT)): sorted(names & set(FORBIDDEN[package]))
        for f, names in top.items()
        if names & set(FORBIDDEN[package])
    }
    assert offending == {}


def test_every_library_module_belongs_to_a_layer() -> None:
    loose = [module_name(p) for p in LIBRARY if package_of(module_name(p)) is None]
    assert loose == ["esd"], "put new modules into a package of LAYERS (or CLI_MODULES)"


def test_library_modules_import_only_their_own_or_lower_layers() -> None:
    offending = {}
    for path in LIBRARY:
        own = package_of(module_name(path))
        if own is None:
            continue
        bad = sorted(
            name
            for name in imports(path)
            if (other := package_of(name)) is not None
            and other != own
            and LAYERS[other] >= LAYERS[own]
        )
        if bad:
            offending[module_name(path)] = bad
    assert offending == {}


def test_no_library_module_imports_a_command_line_module() -> None:
    offending = {
        module_name(p): sorted(imports(p) & CLI_MODULES)
        for p in LIBRARY
        if imports(p) & CLI_MODULES
    }
    assert offending == {}


def test_the_layer_checks_catch_an_upward_import(tmp_path: Path) -> None:
    """The static check sees a function-local upward import (a mutant of a real module)."""
    mutant = tmp_path / "mutant.py"
    mutant.write_text("def f():\n    from esd.workbench.service import Workbench\n")
    assert "esd.workbench.service.Workbench" in imports(mutant)
    assert LAYERS[package_of("esd.workbench.service")] > LAYERS["esd.models"]


def test_importing_every_esd_module_loads_neither_viz_nor_app() -> None:
    modules = sorted(
        module_name(p) for p in (ROOT / "esd").rglob("*.py") if p.name != "__main__.py"
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


MAX_MODULE_LINES = 500  # one concept per module; split a module that grows past this
# Pure data tables may be longer; so may app.py, the one UI file (layout and wiring only).
LONGER = frozenset({"esd/corpus/captions/templates.py", "app.py"})


def test_no_module_is_over_the_size_limit_except_data_tables_and_the_ui() -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in [*(ROOT / "esd").rglob("*.py"), *(ROOT / "viz").rglob("*.py"), ROOT / "app.py"]
    }
    assert {p for p, n in sizes.items() if n > MAX_MODULE_LINES} <= LONGER
