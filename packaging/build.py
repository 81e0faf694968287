"""`make package`: IDFSR Desktop as one folder for this platform, with nothing else to install.

Renders the app icon from its SVG, runs PyInstaller on packaging/idfsr-desktop.spec,
then checks what came out: every file of the manifest in place, no CUDA library in a
CPU build, and how big the folder is. Writes build/package-report.json.

    python packaging/build.py            # the CPU build, into dist/idfsr-desktop/
    IDFSR_PACKAGE_VARIANT=cuda python packaging/build.py    # dist/idfsr-desktop-cuda/
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import manifest  # noqa: E402

BUILD = manifest.BUILD_DIR
DIST = manifest.DIST_DIR
ICON_SIDE = 512


def render_icon(svg: Path, png: Path, side: int = ICON_SIDE) -> None:
    """Draw the SVG app icon into a square PNG (PyInstaller makes .ico/.icns from it)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    image = QImage(side, side, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(svg)).render(painter, QRectF(0, 0, side, side))
    painter.end()
    png.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(png)):
        raise SystemExit(f"could not write the icon {png}")
    del app


def folder_size(folder: Path) -> int:
    """Bytes of the files under `folder`, links not followed (an .app links its data)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def largest_parts(root: Path, count: int = 12) -> list[tuple[str, float]]:
    """The biggest top-level entries of the data folder, in MB."""
    sizes = []
    for entry in root.iterdir():
        size = folder_size(entry) if entry.is_dir() else entry.lstat().st_size
        sizes.append((entry.name, round(size / 1e6, 1)))
    return sorted(sizes, key=lambda s: -s[1])[:count]


def check(app: Path, variant: str) -> list[str]:
    """What is wrong with the built app (nothing: an empty list)."""
    problems = []
    exe = manifest.executable(app)
    if not exe.is_file():
        problems.append(f"no executable at {exe}")
    root = manifest.data_root(app)
    for item in manifest.data_files():
        if not (root / item.dest_dir / item.source.name).exists():
            problems.append(f"missing from the bundle: {item.dest_dir}/{item.source.name}")
    if variant == "cpu":
        cuda = [p.relative_to(app) for p in app.rglob("*")
                if p.is_file() and manifest.is_cuda_library(p.name)]
        problems += [f"a CUDA library in the CPU build: {p}" for p in cuda]
    return problems


def install_desktop_files(app: Path, icon: Path) -> None:
    """Linux: the icon and a desktop entry (with its installer) beside the executable."""
    shutil.copy2(icon, app / icon.name)
    for name in ("idfsr-desktop.desktop", "install-desktop-entry.sh"):
        shutil.copy2(HERE / "linux" / name, app / name)


def main() -> int:
    """Build, check, report; the exit status."""
    variant = manifest.variant()
    name = manifest.dist_name(variant)
    started = time.monotonic()
    icon = BUILD / "icons" / f"{manifest.APP_NAME}.png"
    render_icon(ROOT / "resources" / "icons" / "idfsr.svg", icon)
    app = manifest.app_folder(variant)
    shutil.rmtree(app, ignore_errors=True)  # --noconfirm would, but not a half-deleted one
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", str(DIST), "--workpath", str(BUILD / "pyinstaller" / name),
         str(HERE / "idfsr-desktop.spec")],
        cwd=ROOT, check=True, env={**os.environ, manifest.VARIANT_ENV: variant})
    if sys.platform.startswith("linux"):
        install_desktop_files(app, icon)
    problems = check(app, variant)
    seconds = time.monotonic() - started
    report = {"variant": variant, "app": str(app.relative_to(ROOT)),
              "size_mb": round(folder_size(app) / 1e6, 1), "build_seconds": round(seconds),
              "largest_mb": largest_parts(manifest.data_root(app)), "problems": problems}
    (BUILD / "package-report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
