"""The whole indexing job, as the CLI and the GUI run it: photos first, then their faces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.context import AppContext
from core.faces.backends import face_backend
from core.faces.scan import FaceScanReport, scan_faces
from core.fsutil import sweep_temp_files
from core.jobs import CancelToken, ProgressCallback, no_progress
from core.library.indexer import IndexReport, index_library
from core.people.assign import assign_new_faces
from core.people.recluster import ClusterReport


@dataclass
class FullIndexReport:
    """What `idfsr index` did: the photo scan and, when faces are on, the face pass."""

    photos: IndexReport
    faces: FaceScanReport | None
    people: ClusterReport | None = None  # the incremental assignment of new faces


    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output: the photo report's keys, plus `faces`."""
        out = self.photos.to_dict()
        out["faces"] = self.faces.to_dict() if self.faces is not None else None
        out["people"] = self.people.to_dict() if self.people is not None else None
        return out


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
        people = assign_new_faces(ctx, face_report.model_id, progress=progress, cancel=cancel)
    return FullIndexReport(photos, face_report, people)
