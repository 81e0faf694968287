"""The context's IDFSR models: each loaded once per name and device, kept in `ctx.models`.

Importing this module loads no torch: the desktop window's process runs the jobs that
only look at what is fitted, and torch arrives with the first model loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.context import AppContext
from core.models.registry import ModelKey

if TYPE_CHECKING:
    from core.idfsr.checkpoint import IdfsrModel, LoadedModel

RESTORER: ModelKey[IdfsrModel] = ModelKey("idfsr")  # named "<model>:<device>"


def load_idfsr(ctx: AppContext, model: str | None = None, device: str | None = None
               ) -> LoadedModel:
    """The IDFSR model (a name or a folder; default the bundled one), loaded once per context."""
    from core.idfsr.checkpoint import DEFAULT_MODEL, IdfsrModel  # heavy: torch
    from core.idfsr.device import select_device  # heavy: torch

    name = model or DEFAULT_MODEL
    chosen = select_device(device or ctx.settings.device)
    key = RESTORER.named(f"{name}:{chosen}")
    return ctx.models.get(key, lambda: IdfsrModel(ctx.paths, name, chosen)).get()


def fall_back_to_cpu(ctx: AppContext, model: str | None, loaded: LoadedModel) -> LoadedModel:
    """The model loaded on the CPU, after `loaded` ran its GPU out of memory.

    The context's GPU copy is let go (it is freed once its last user drops it), so the
    next load on the GPU starts afresh rather than from a full card."""
    for _key, wrapper in ctx.models.loaded(RESTORER.kind):
        if wrapper.is_loaded and wrapper.get() is loaded:
            wrapper.unload()
    return load_idfsr(ctx, model, "cpu")


def idfsr_available(ctx: AppContext, model: str | None = None) -> bool:
    """Whether the IDFSR model is installed (nothing is loaded)."""
    from core.idfsr.checkpoint import DEFAULT_MODEL, IdfsrModel  # heavy: torch

    return IdfsrModel(ctx.paths, model or DEFAULT_MODEL).available()
