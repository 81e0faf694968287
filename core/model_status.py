"""What the app can run with right now: face models, the restoration model, the device.

Read-only: nothing is downloaded or loaded here. The first-run page, the settings and
the fitting UI show this; `restoration_model` gives the hash that fitted identities are
recorded against. The restoration model and the device need torch, so call these off
the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.context import AppContext
from core.errors import IdfsrError
from core.faces.backends import choose_backend
from core.models.base import sha256_file
from core.models.catalog import DEFAULT_PACK, PACKS, PackSpec
from core.models.insightface_pack import installed_packs

_SHA_CACHE = "restoration_model_sha256"


@dataclass(frozen=True)
class FaceModelStatus:
    """The face backend the settings select, what is installed, and the pack to offer."""

    active: str | None  # "embedded" or "insightface/<pack>"; None when the settings cannot run
    reason: str  # why this backend (or why none)
    installed_packs: tuple[str, ...]
    offer: PackSpec | None  # a pack the user may choose to download (None: one is installed)

    @property
    def embedded(self) -> bool:
        """Whether the bundled, offline models are the ones in use."""
        return self.active == "embedded"


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
    name: str  # for people: "NVIDIA H100 80GB HBM3 (CUDA)", "CPU (4 threads)"
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
    from core.idfsr.checkpoint import DEFAULT_MODEL, WEIGHTS_NAME, model_search_path

    for folder in model_search_path(ctx.paths, model or DEFAULT_MODEL):
        weights = folder / WEIGHTS_NAME
        if not weights.is_file():
            continue
        stat = weights.stat()
        key = (str(weights), stat.st_size, stat.st_mtime_ns)
        cached = ctx.cache.get(_SHA_CACHE)
        if cached is None or cached[0] != key:  # hashing ~40 MB: once per file version
            cached = (key, sha256_file(weights))
            ctx.cache[_SHA_CACHE] = cached
        return RestorationModel(folder, cached[1])
    return None


def device_status(preference: str | None = None) -> DeviceStatus:
    """What the device preference (default "auto") resolves to on this machine."""
    import torch

    from core.idfsr.device import select_device

    wanted = preference or "auto"
    try:
        device = select_device(wanted)
    except IdfsrError as exc:
        return DeviceStatus(wanted, None, "unavailable", str(exc))
    if device.type == "cuda":
        name = f"{torch.cuda.get_device_name(device)} (CUDA)"
    elif device.type == "mps":
        name = "Apple GPU (Metal)"
    else:
        name = f"CPU ({torch.get_num_threads()} threads)"
    return DeviceStatus(wanted, device.type, name)
