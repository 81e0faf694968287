"""Which face backend the settings select, and opening it.

`face_backend` is "auto" (an installed insightface pack, else the embedded models),
"insightface" (a pack is required) or "embedded". The pack is `faces.pack` when it is
installed, else the first installed pack in catalog order, so installing any pack
with `idfsr models get` is enough for "auto" to use it. The embedded backend embeds with
`faces.recognizer`: dlib's ResNet (the default, the more accurate) or MobileFace (~60x
faster per face); a library indexed with one is re-embedded with the other by the next
index (core.faces.scan), keeping every user decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import IdfsrError, ModelMissingError
from core.faces.types import EMBEDDED_RECOGNIZERS, FaceBackend
from core.models.catalog import PACKS
from core.models.insightface_pack import InstalledPack, find_pack, installed_packs
from core.models.registry import ModelKey
from core.paths import AppPaths
from core.settings import Settings

if TYPE_CHECKING:
    from core.context import AppContext

FACE_BACKEND: ModelKey[FaceBackend] = ModelKey("face-backend")
RECOGNIZER: ModelKey[FaceBackend] = ModelKey("recognizer")  # named by its model id


@dataclass(frozen=True)
class BackendChoice:
    """The backend the settings select (nothing loaded yet) and why."""

    backend: str  # "insightface" or "embedded"
    pack: InstalledPack | None
    reason: str
    recognizer: str = ""  # the embedded backend's recognizer model id ("" for insightface)

    @property
    def label(self) -> str:
        if self.pack:
            return f"insightface/{self.pack.name}"
        if self.recognizer and self.recognizer != EMBEDDED_RECOGNIZERS[0]:
            return f"{self.backend}/{self.recognizer}"
        return self.backend


def pick_pack(models: Path, preferred: str) -> InstalledPack | None:
    """The preferred pack if installed, else the first installed one (catalog order first)."""
    try:
        pack = find_pack(models, preferred)
    except ModelMissingError:  # a settings value that is no valid folder name
        pack = None
    if pack is not None:
        return pack
    found = installed_packs(models)
    rank = {name: i for i, name in enumerate(PACKS)}
    found.sort(key=lambda p: (rank.get(p.name, len(rank)), p.name))
    return found[0] if found else None


def choose_backend(paths: AppPaths, settings: Settings) -> BackendChoice:
    """Resolve `settings.face_backend` against what is installed; loads nothing."""
    wanted = settings.face_backend
    recognizer = settings.faces.recognizer
    if wanted == "embedded":
        return BackendChoice("embedded", None, "face_backend is set to embedded", recognizer)
    pack = pick_pack(paths.models, settings.faces.pack)
    if pack is not None:
        why = (f"face_backend is {wanted}" if pack.name == settings.faces.pack
               else f"face_backend is {wanted}; pack {settings.faces.pack!r} is not installed, "
                    f"{pack.name!r} is")
        return BackendChoice("insightface", pack, why)
    if wanted == "insightface":
        raise ModelMissingError(
            settings.faces.pack,
            f"face_backend is insightface but no insightface model pack is installed; run "
            f"`idfsr models get {settings.faces.pack}` (or set face_backend to auto)")
    return BackendChoice("embedded", None, "face_backend is auto and no insightface pack is "
                                           "installed", recognizer)


def open_backend(
    ctx_or_paths: AppContext | AppPaths, settings: Settings | None = None,
    *, child_process: bool = False,
) -> FaceBackend:
    """Build the face backend the settings select (loading its models).

    child_process: keep GIL-holding recognizers out of this process (see AppContext's
      `interactive`); ONNX-based backends release the GIL and ignore it.
    """
    if isinstance(ctx_or_paths, AppPaths):
        paths = ctx_or_paths
        settings = settings or Settings()
    else:
        paths = ctx_or_paths.paths
        settings = settings or ctx_or_paths.settings
    choice = choose_backend(paths, settings)
    if choice.pack is not None:
        from core.faces.insightface_backend import InsightFaceBackend  # heavy: onnxruntime

        return InsightFaceBackend(
            choice.pack.path,
            device=settings.device,
            tiny_faces=settings.faces.tiny_faces,
            min_face_px=float(settings.faces.min_face_px),
            cache_dir=paths.cache / "insightface",
        )
    from core.faces.embedded import EmbeddedBackend  # heavy: dlib, onnx; when chosen

    return EmbeddedBackend(
        min_face_px=float(settings.faces.min_face_px), tiny_faces=settings.faces.tiny_faces,
        child_process=child_process, recognizer=choice.recognizer or settings.faces.recognizer,
    )


def face_backend(ctx: AppContext) -> FaceBackend:
    """The face backend the settings ask for, loaded once per context."""
    return ctx.models.get(FACE_BACKEND,
                          lambda: open_backend(ctx, child_process=ctx.interactive))


def forget_face_backend(ctx: AppContext) -> None:
    """Drop the loaded face backend (the next use opens the one the settings now ask for),
    ending its child process if it has one; a job still using it restarts that on demand."""
    ctx.models.drop(FACE_BACKEND)


def identity_backend(ctx: AppContext, id_model_id: str) -> FaceBackend:
    """A recognizer that gives embeddings of `id_model_id` (the space an IDFSR model uses).

    The library's backend when it is that model; else the embedded backend when the
    model uses dlib's embeddings (it is always installed); else a clear error.
    """
    library = face_backend(ctx)
    if not id_model_id or library.model_id == id_model_id:
        return library
    key = RECOGNIZER.named(id_model_id)
    cached = ctx.models.peek(key)
    if cached is not None:
        return cached
    from core.faces.embedded import EmbeddedBackend  # heavy: dlib, onnx

    if EmbeddedBackend.model_id == id_model_id:
        backend = EmbeddedBackend(min_face_px=float(ctx.settings.faces.min_face_px),
                                  child_process=ctx.interactive)
        ctx.models.put(key, backend)
        return backend
    raise IdfsrError(f"the restoration model uses {id_model_id} embeddings and the face "
                     f"backend gives {library.model_id}; choose the matching --face-backend")
