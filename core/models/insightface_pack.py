"""Installed insightface model packs: where they live, what the installer recorded, routing.

A pack is a folder `<models>/insightface/<pack>/` of .onnx files (e.g. buffalo_l). Which
file is the detector and which the recognizer is decided by insightface's own model
router (`insightface.model_zoo.get_model`, which looks at each file's inputs and
outputs), never by file name, so renamed or hand-installed packs work too. Packs
installed by `idfsr models get` carry a manifest (sha256 of every file and the roles
the router gave them); packs unzipped by hand have none and are routed file by file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnxruntime as ort

from core.errors import ModelCorruptError, ModelMissingError
from core.fsutil import atomic_write_bytes
from core.models.onnx import default_threads, providers

PACKS_FOLDER = "insightface"
MANIFEST = "idfsr-pack.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def packs_root(models: Path) -> Path:
    """The folder holding every insightface pack."""
    return models / PACKS_FOLDER


def pack_dir(models: Path, name: str) -> Path:
    """Where pack `name` is (or would be) installed; rejects names that are not plain folders."""
    if not _NAME.match(name):
        raise ModelMissingError(name, f"{name!r} is not a valid model pack name")
    return packs_root(models) / name


@dataclass(frozen=True)
class InstalledPack:
    """A pack folder found on disk, with what its manifest says (if it has one)."""

    name: str
    path: Path
    onnx_files: tuple[str, ...]
    manifest: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def detection(self) -> str | None:
        return self.manifest.get("detection") if self.manifest else None

    @property
    def recognition(self) -> str | None:
        return self.manifest.get("recognition") if self.manifest else None

    def sha256(self, filename: str) -> str | None:
        """The checksum the installer recorded for a file of the pack, if any."""
        if not self.manifest:
            return None
        entry = self.manifest.get("files", {}).get(filename)
        return entry.get("sha256") if isinstance(entry, dict) else None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "name": self.name,
            "path": str(self.path),
            "files": list(self.onnx_files),
            "detection": self.detection,
            "recognition": self.recognition,
            "embedding_dim": self.manifest.get("embedding_dim") if self.manifest else None,
            "source": self.manifest.get("source") if self.manifest else None,
            "installed_by": "idfsr" if self.manifest else "hand",
        }


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The installer's manifest of a pack folder, or None (hand-installed or unreadable)."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_manifest(folder: Path, data: dict[str, Any]) -> None:
    """Record what the installer verified, next to the pack's files."""
    atomic_write_bytes(folder / MANIFEST, json.dumps(data, indent=2).encode("utf-8"))


def find_pack(models: Path, name: str) -> InstalledPack | None:
    """The installed pack `name`, or None when its folder holds no .onnx file."""
    folder = pack_dir(models, name)
    if not folder.is_dir():
        return None
    files = tuple(sorted(p.name for p in folder.glob("*.onnx") if p.is_file()))
    if not files:
        return None
    return InstalledPack(name, folder, files, read_manifest(folder))


def installed_packs(models: Path) -> list[InstalledPack]:
    """Every usable-looking pack folder, by name; temp and hidden folders are skipped."""
    root = packs_root(models)
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and _NAME.match(folder.name):
            pack = find_pack(models, folder.name)
            if pack is not None:
                found.append(pack)
    return found


@dataclass
class RoutedPack:
    """The two models of a pack the face backend uses, as insightface objects."""

    detector: Any  # insightface.model_zoo.SCRFD (with 5-point keypoints)
    recognizer: Any  # insightface.model_zoo.ArcFaceONNX
    detection_file: Path
    recognition_file: Path


def _session_options(threads: int | None) -> ort.SessionOptions:
    # Same policy as core.models.onnx.session, handed to insightface's own session factory.
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


def route_file(path: Path, *, device: str = "auto", threads: int | None = None,
               cache_dir: Path | None = None) -> Any:
    """Load one .onnx file through insightface's router; None when it is no model it knows."""
    import insightface.model_zoo as zoo  # heavy: only when a pack is really used

    chosen = providers(device)
    kwargs: dict[str, Any] = {"providers": chosen, "sess_options": _session_options(threads)}
    if cache_dir is not None and chosen[0] == "CoreMLExecutionProvider":
        # insightface would otherwise cache compiled CoreML models under ~/.insightface.
        kwargs["_coreml_cache_root"] = str(cache_dir)
    try:
        return zoo.get_model(str(path), **kwargs)
    except Exception as exc:  # onnxruntime and protobuf raise many kinds on a bad file
        raise ModelCorruptError(
            f"{path.name} in model pack {path.parent.name!r} cannot be loaded ({exc}); "
            f"reinstall it with `idfsr models get {path.parent.name}`"
        ) from exc


def route_pack(
    folder: Path,
    files: Sequence[str] | None = None,
    *,
    device: str = "auto",
    threads: int | None = None,
    cache_dir: Path | None = None,
) -> RoutedPack:
    """Find the pack's SCRFD detector (with keypoints) and ArcFace recognizer by routing.

    `files` limits (and orders) the files tried, e.g. the two roles the manifest names;
    by default every .onnx file is tried in name order and landmark or attribute
    models are dropped as soon as the router says what they are.
    """
    paths = [folder / f for f in files] if files else sorted(folder.glob("*.onnx"))
    detector = recognizer = None
    det_file = rec_file = None
    for path in paths:
        model = route_file(path, device=device, threads=threads, cache_dir=cache_dir)
        task = getattr(model, "taskname", None)
        # Detectors without keypoints (6 or 10 outputs) cannot align faces: not usable.
        if task == "detection" and detector is None and getattr(model, "use_kps", False):
            detector, det_file = model, path
        elif task == "recognition" and recognizer is None:
            recognizer, rec_file = model, path
        if detector is not None and recognizer is not None:
            break
    if detector is None or recognizer is None or det_file is None or rec_file is None:
        missing = ("SCRFD face detector with landmarks" if detector is None
                   else "ArcFace recognizer")
        raise ModelCorruptError(
            f"model pack {folder.name!r} has no {missing} among its .onnx files; "
            f"reinstall it with `idfsr models get {folder.name}`"
        )
    return RoutedPack(detector, recognizer, det_file, rec_file)


def embedding_dim(recognizer: Any) -> int:
    """The recognizer's embedding size, from its output shape (or one dummy run)."""
    shape = list(getattr(recognizer, "output_shape", []) or [])
    if shape and isinstance(shape[-1], int) and shape[-1] > 0:
        return int(shape[-1])
    import numpy as np

    w, h = recognizer.input_size
    return int(recognizer.get_feat([np.zeros((h, w, 3), np.uint8)]).shape[-1])
