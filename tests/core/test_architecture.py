"""The engine never knows about the GUI: importing all of core loads no Qt."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, pkgutil, sys
import core
names = [m.name for m in pkgutil.walk_packages(core.__path__, "core.")
         if ".migrations" not in m.name]
for name in names:
    importlib.import_module(name)
QT = {"PySide6", "PyQt5", "PyQt6", "shiboken6", "qtpy"}
qt = sorted(m for m in sys.modules if m.split(".")[0] in QT)
print(len(names))
print(",".join(qt))
"""

QT_IMPORTS = tuple(f"{kw} {mod}" for kw in ("import", "from")
                   for mod in ("PySide", "PyQt", "shiboken", "qtpy"))


def test_core_imports_no_qt() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    count, qt = out.stdout.strip().split("\n") + [""] * (2 - len(out.stdout.strip().split("\n")))
    assert int(count) >= 10, "the probe should have imported every core module"
    assert qt == "", f"core imported Qt modules: {qt}"


def test_no_qt_import_statement_in_core() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "core").rglob("*.py")
        if any(
            line.lstrip().startswith(QT_IMPORTS)
            for line in p.read_text(encoding="utf-8").splitlines()
        )
    ]
    assert offenders == []


PROJECT = ("core", "idfsr_desktop")


def _function_level_imports() -> list[tuple[str, int, str]]:
    """(file, line, source) of every import of a project module inside a function."""
    found = []
    for package in PROJECT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            lines = text.splitlines()
            nested = [node for fn in ast.walk(ast.parse(text))
                      if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                      for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom))]
            for node in nested:
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""])
                if getattr(node, "level", 0) or any(n.split(".")[0] in PROJECT for n in names):
                    found.append((str(path.relative_to(ROOT)), node.lineno,
                                  lines[node.lineno - 1].strip()))
    return sorted(set(found))




def test_no_function_level_import_of_a_project_module_dodges_a_cycle() -> None:
    """A project module is imported inside a function only to put off a heavy library (torch,
    onnxruntime, ...), and the line says so (`# heavy: <library>`): a cycle between modules is
    a layering mistake to fix, not to hide in a function."""
    offenders = [f"{path}:{line}: {source}" for path, line, source in _function_level_imports()
                 if "# heavy: " not in source]
    assert offenders == []


def test_the_scan_finds_a_function_level_import() -> None:
    """The walk above sees an import nested in a method (so its empty answer means something)."""
    assert any("# heavy: torch" in source for _, _, source in _function_level_imports())


def test_the_layers_hold() -> None:
    """pyproject.toml's import-linter contracts: the declared layers, and no GUI in core."""
    lint = Path(sys.executable).with_name("lint-imports")
    assert lint.exists(), "import-linter is a dev dependency: pip install -e '.[dev]'"
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
