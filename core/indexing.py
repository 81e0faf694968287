"""The whole indexing job, as the CLI and the GUI run it: photos first, then their faces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.context import AppContext
from core.faces.scan import FaceScanReport, scan_faces
from core.faces.types import FaceBackend
from core.fsutil import sweep_temp_files
from core.jobs import CancelToken, ProgressCallback, no_progress
from core.library.indexer import IndexReport, index_library


@dataclass
class FullIndexReport:
    """What `idfsr index` did: the photo scan and, when faces are on, the face pass."""

    photos: IndexReport
    faces: FaceScanReport | None
    people: Any = None  # core.people ClusterReport of the incremental assignment


    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output: the photo report's keys, plus `faces`."""
        out = self.photos.to_dict()
        out["faces"] = self.faces.to_dict() if self.faces is not None else None
        out["people"] = self.people.to_dict() if self.people is not None else None
        return out


def face_backend(ctx: AppContext) -> FaceBackend:
    """The face backend the settings ask for, loaded once per context."""
    cached = ctx.cache.get("face_backend")
    if cached is None:
        from core.faces.backends import open_backend  # heavy: model runtimes

        cached = open_backend(ctx, child_process=ctx.interactive)
        ctx.cache["face_backend"] = cached
    return cached


def forget_face_backend(ctx: AppContext) -> None:
    """Drop the loaded face backend (the next use opens the one the settings now ask for),
    ending its child process if it has one; a job still using it restarts that on demand."""
    dropped = ctx.cache.pop("face_backend", None)
    close = getattr(dropped, "close", None)
    if callable(close):
        close()


def index_everything(
    ctx: AppContext,
    *,
    rescan: bool = False,
    faces: bool | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> FullIndexReport:
    """Scan the library, then find and embed faces (unless `faces` or the settings say no)."""
    cancel = cancel or CancelToken()
    # Temp files of cache writes that a killed run left behind (readers never see them).
    sweep_temp_files(ctx.paths.cache)
    photos = index_library(ctx, rescan=rescan, progress=progress, cancel=cancel)
    want_faces = ctx.settings.faces.enabled if faces is None else faces
    face_report = None
    if want_faces:
        face_report = scan_faces(
            ctx, face_backend(ctx), rescan=rescan, progress=progress, cancel=cancel
        )
    people = None
    if face_report is not None:
        from core.people.assign import assign_new_faces

        people = assign_new_faces(ctx, face_report.model_id, progress=progress, cancel=cancel)
    return FullIndexReport(photos, face_report, people)
