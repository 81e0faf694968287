"""What the app can run with right now: face models, the restoration model, the device.

Read-only: nothing is downloaded or loaded here. The first-run page, the settings and
the fitting UI show this; `restoration_model` gives the hash that fitted identities are
recorded against. The device needs torch and the model lookup hashes its weights, so
call these off the GUI thread.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from core.context import AppContext
from core.device_probe import device_facts
from core.errors import IdfsrError
from core.faces.backends import choose_backend
from core.fsutil import sha256_file
from core.models.catalog import DEFAULT_PACK, PACKS, PackSpec
from core.models.insightface_pack import installed_packs
from core.models.registry import ModelKey
from core.resources import resources_root

# The restoration model's weights file (path, size, mtime) and its sha256.
_WEIGHTS_SHA: ModelKey[tuple[tuple[str, int, int], str]] = ModelKey("restoration-sha256")
_PROBE_TIMEOUT_S = 300  # a cold import of torch from a slow disk, with room to spare

# Where core.idfsr.checkpoint looks for a model, restated here because importing it
# imports torch and diffusers: seconds of a background thread holding the GIL (the
# desktop app's event loop stalled 0.2-0.6 s at a time while its startup check of
# fitted identities ran). tests/core/test_model_status.py holds the two in step.
DEFAULT_MODEL_NAME = "idfsr-default"
WEIGHTS_FILE = "diffusion_pytorch_model.safetensors"


def model_folders(ctx: AppContext, name: str = DEFAULT_MODEL_NAME) -> list[Path]:
    """Where a restoration model of this name is looked for, first match wins (no torch)."""
    return [ctx.paths.models / "idfsr" / name, resources_root() / "models" / name]


@dataclass(frozen=True)
class FaceModelStatus:
    """The face backend the settings select, what is installed, and the pack to offer."""

    active: str | None  # "embedded", "embedded/<recognizer>" (not the default one) or
    # "insightface/<pack>"; None when the settings cannot run
    reason: str  # why this backend (or why none)
    installed_packs: tuple[str, ...]
    offer: PackSpec | None  # a pack the user may choose to download (None: one is installed)

    @property
    def embedded(self) -> bool:
        """Whether the bundled, offline models are the ones in use."""
        return self.active is not None and self.active.split("/", 1)[0] == "embedded"


@dataclass(frozen=True)
class RestorationModel:
    """The IDFSR model that fitting and restoring would use."""

    path: Path  # its folder
    sha256: str  # of its weights: fitted identities are recorded against it


@dataclass(frozen=True)
class DeviceStatus:
    """Where torch work would run for a device preference."""

    preference: str  # the setting: "auto", "cuda", "mps" or "cpu"
    kind: str | None  # the device chosen; None when the preference cannot be met
    name: str  # for people: "NVIDIA H100 80GB HBM3 (CUDA)", "CPU (4 cores)"
    problem: str | None = None  # why the preference cannot be met


def face_model_status(ctx: AppContext) -> FaceModelStatus:
    """The active face backend and installed packs (no model is loaded)."""
    packs = tuple(p.name for p in installed_packs(ctx.paths.models))
    try:
        choice = choose_backend(ctx.paths, ctx.settings)
        active: str | None = choice.label
        reason = choice.reason
    except IdfsrError as exc:  # e.g. insightface required but none installed
        active, reason = None, str(exc)
    offer = None if packs else PACKS[DEFAULT_PACK]
    return FaceModelStatus(active, reason, packs, offer)


def restoration_model(ctx: AppContext, model: str | None = None) -> RestorationModel | None:
    """The installed IDFSR model by that name (default: the bundled one's), or None."""
    for folder in model_folders(ctx, model or DEFAULT_MODEL_NAME):
        weights = folder / WEIGHTS_FILE
        if not weights.is_file():
            continue
        stat = weights.stat()
        key = (str(weights), stat.st_size, stat.st_mtime_ns)
        cached = ctx.models.peek(_WEIGHTS_SHA)
        if cached is None or cached[0] != key:  # hashing ~40 MB: once per file version
            cached = (key, sha256_file(weights))
            ctx.models.put(_WEIGHTS_SHA, cached)
        return RestorationModel(folder, cached[1])
    return None


def device_status(preference: str | None = None) -> DeviceStatus:
    """What the device preference (default "auto") resolves to on this machine.

    Where torch is not imported yet, a child process answers: importing torch holds the
    GIL for long stretches (loading libtorch, registering its operators), which froze the
    desktop app's event loop for 0.2-1 s at a time while a status page checked the device.
    """
    if "torch" in sys.modules or getattr(sys, "frozen", False):  # a packaged app has no -m
        return _device_status_here(preference)
    try:
        done = subprocess.run([sys.executable, "-m", "core.device_probe", preference or "auto"],
                              capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S,
                              check=True)
        return DeviceStatus(**json.loads(done.stdout.strip().splitlines()[-1]))
    except (OSError, subprocess.SubprocessError, ValueError, TypeError, IndexError):
        return _device_status_here(preference)  # no usable child: answer here after all


def _device_status_here(preference: str | None) -> DeviceStatus:
    return DeviceStatus(**device_facts(preference or "auto"))
