"""What a restoration did, as plain data: per face, per photo, per run (the sidecar's content)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from core.fsutil import display_path

if TYPE_CHECKING:  # matching pulls in faiss and the database; the notes need neither
    from core.restore.matching import Match


def _r(v: float | None, digits: int = 4) -> float | None:
    return None if v is None else round(float(v), digits)


class FaceStatus(StrEnum):
    """What became of one face of a photo."""

    PENDING = "pending"  # found, not (yet) restored: a review before restoring
    RESTORED = "restored"
    SKIPPED = "skipped"  # not asked for, or already as sharp as the model makes it
    FAILED = "failed"


class RestoreStatus(StrEnum):
    """What became of one input photo."""

    PENDING = "pending"
    FOUND = "found"  # its faces were found for review (find_faces); nothing restored
    RESTORED = "restored"  # a new output was written
    UNCHANGED = "unchanged"  # no face was restored: nothing written
    NO_FACES = "no_faces"
    ERROR = "error"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class CandidateScore:
    """One sampled candidate of a face and how it ranked."""

    seed: int
    consistency_error: float  # LR mismatch, 0..1 (lower is better)
    identity_similarity: float | None  # to the person (None on the generic path)
    chosen: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {"seed": self.seed, "consistency_error": _r(self.consistency_error, 5),
                "identity_similarity": _r(self.identity_similarity), "chosen": self.chosen}


@dataclass
class FaceResult:
    """One face of a photo: where, who, how it was restored (or why not)."""

    number: int  # 1-based, left to right: what --person and --faces refer to
    box: tuple[float, float, float, float]
    landmarks: list[list[float]]
    size_px: float
    det_score: float
    match: Match
    status: FaceStatus = FaceStatus.PENDING
    path: str = ""  # "personal" (the person's fitted identity) or "generic" (null identity)
    message: str = ""
    lr_size: int = 0  # the face's own resolution across the crop (photo pixels)
    identity_file: str | None = None
    reference: dict[str, Any] | None = None
    seeds: list[int] = field(default_factory=list)
    candidates: list[CandidateScore] = field(default_factory=list)
    identity_similarity_before: float | None = None  # the LR face vs the person
    identity_similarity_after: float | None = None  # the restored face vs the person
    crops: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output and the sidecar."""
        return {
            "number": self.number, "status": self.status, "path": self.path,
            "message": self.message,
            "box": [round(v, 2) for v in self.box],
            "landmarks": [[round(x, 2), round(y, 2)] for x, y in self.landmarks],
            "size_px": round(self.size_px, 1), "det_score": _r(self.det_score),
            "lr_size": self.lr_size,
            "person": ({"id": self.match.person_id, "name": self.match.name}
                       if self.match.person_id is not None else None),
            "match": self.match.to_dict(),
            "identity_file": self.identity_file, "reference": self.reference,
            "seeds": self.seeds, "candidates": [c.to_dict() for c in self.candidates],
            "identity_similarity_before": _r(self.identity_similarity_before),
            "identity_similarity_after": _r(self.identity_similarity_after),
            "crops": self.crops,
        }


@dataclass
class PhotoResult:
    """One input photo: what was written, its faces, or why nothing was."""

    source: str
    status: RestoreStatus = RestoreStatus.PENDING
    message: str = ""
    output: str | None = None
    sidecar: str | None = None
    xmp: str | None = None
    width: int = 0
    height: int = 0
    scale: float = 1.0
    faces: list[FaceResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    repair: dict[str, Any] | None = None  # what was repaired and toned (PhotoFix.to_dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {"source": display_path(self.source), "status": self.status,
                "repair": self.repair,
                "message": self.message, "output": self.output, "sidecar": self.sidecar,
                "xmp": self.xmp, "width": self.width, "height": self.height,
                "scale": self.scale, "faces": [f.to_dict() for f in self.faces],
                "warnings": self.warnings, "seconds": round(self.seconds, 2)}


@dataclass
class RestoreReport:
    """A whole `idfsr restore` run."""

    photos: list[PhotoResult] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    fitted: list[dict[str, Any]] = field(default_factory=list)  # persons fitted on demand
    cancelled: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # about the whole run (a full GPU, ...)

    @property
    def errors(self) -> int:
        """Photos that could not be restored for a reason worth an exit code."""
        return sum(p.status == RestoreStatus.ERROR for p in self.photos)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        faces = [f for p in self.photos for f in p.faces]
        return {"photos": [p.to_dict() for p in self.photos], "model": self.model,
                "fitted": self.fitted, "cancelled": self.cancelled,
                "seconds": round(self.seconds, 2), "notes": self.notes,
                "summary": {"photos": len(self.photos),
                            "written": sum(p.output is not None for p in self.photos),
                            "errors": self.errors,
                            "faces": len(faces),
                            "restored": sum(f.status == FaceStatus.RESTORED for f in faces),
                            "personal": sum(f.path == "personal" for f in faces),
                            "generic": sum(f.path == "generic" for f in faces)}}
