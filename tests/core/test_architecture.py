"""The engine never knows about the GUI: importing all of core loads no Qt."""

from __future__ import annotations

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
