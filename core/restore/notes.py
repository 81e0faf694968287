"""The notes of a restored photo: the JSON note (`.idfsr.json`) and the XMP packet.

The JSON note says what was restored, with what, and how. It is one typed model,
`RestoreNote`, written by the pipeline and read back by recompose, export and the sweep
of unfinished outputs. Reading is tolerant: a note of an older version lacks keys that
came later (their defaults fill in), and keys this version does not know are kept as
they are, so a note passed on (exported, recomposed) loses nothing. `format` carries the
layout's version ("idfsr-restore/1"); a change that old readers would misread needs a
new one. A new key is a new field with a default (and the schema written again).

docs/restore-note.schema.json is the model's JSON schema; it is written by

    python -m core.restore.notes > docs/restore-note.schema.json
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import IdfsrError
from core.restore.encoding import app_version
from core.restore.report import FaceStatus

if TYPE_CHECKING:
    from core.restore.report import FaceResult

FORMAT = "idfsr-restore/1"
FORMAT_PREFIX = "idfsr-restore/"
DISCLAIMER = ("Faces in this photo were restored by AI (personalised face super-resolution). "
              "They are a plausible reconstruction, not a record of what the camera saw.")


class NoteError(IdfsrError):
    """A restore note that cannot be read: missing, not JSON, or not one of ours."""


class _Part(BaseModel):
    # Keys of a newer version are kept (and written again), never an error.
    model_config = ConfigDict(extra="allow")


class NoteModel(_Part):
    """The restoration model that made the faces."""

    path: str = ""
    sha256: str = ""
    size: int = Field(0, description="the side of the model's face crops, in pixels")


class NoteFaceBackend(_Part):
    """The face detector and recognizer that found and matched the faces."""

    name: str = ""
    model_id: str = ""


class NoteOptions(_Part):
    """The restore options the photo was restored with (core.restore.options.RestoreOptions).

    Every one may be missing (None): an option added after the note was written."""

    scale: float | None = Field(None, description="0: auto")
    steps: int | None = None
    seed: int | None = None
    candidates: int | None = None
    fidelity: float | None = None
    identity_strength: float | None = None
    consistency: float | None = None
    start: float | None = None
    sampler: str | None = None
    model: str | None = None
    device: str | None = None
    min_confidence: float | None = None
    persons: list[str] | None = Field(None, description="[PHOTO:]FACE=PERSON choices")
    faces: list[int] | None = None
    fit_steps: int | None = None
    fit_missing: bool | None = None
    keep_grain: bool | None = None
    large_faces: bool | None = None
    save_crops: bool | None = None
    max_output_pixels: int | None = None
    repair: bool | None = Field(None, description="scratches, dust and spots repaired")
    tone: float | None = Field(None, description="tone correction strength (0..1)")
    keep_monochrome: bool | None = Field(None, description="grey and toned photos kept so")
    damage_masks: list[list[str]] | None = Field(
        None, description="[photo, mask PNG] pairs: damage masks the user edited")


class NotePerson(_Part):
    """The person a face was restored as."""

    id: int
    name: str | None = None


class NotePersonScore(_Part):
    """A candidate person for a face, and its score."""

    person_id: int
    name: str | None = None
    score: float = 0.0


class NoteMatch(_Part):
    """How the face's person was chosen (core.restore.matching.Match)."""

    person_id: int | None = None
    name: str | None = None
    confidence: float = 0.0
    score: float = 0.0
    runner_up: float = 0.0
    weak_evidence: bool = False
    source: str = Field("none", description='"auto", "user" (--person) or "none"')
    calibrated: bool = False
    reason: str = ""
    candidates: list[NotePersonScore] = Field(default_factory=list)
    top_confidence: float = 0.0


class NoteReference(_Part):
    """The library photo of the person the face was restored with reference to."""

    face_id: int | None = None
    photo: str | None = None
    score: float = 0.0
    pose: float = 0.0
    quality: float = 0.0
    date: float = 0.0
    captured_at: str | None = None


class NoteCandidate(_Part):
    """One sampled candidate of a face and how it ranked."""

    seed: int
    consistency_error: float | None = None
    identity_similarity: float | None = None
    chosen: bool = False


class NoteFace(_Part):
    """One face of the photo: where, who, and how it was restored (or why not)."""

    number: int = Field(description="1-based, left to right")
    status: FaceStatus = FaceStatus.PENDING
    path: str = Field("", description='"personal", "generic", or "" (not restored)')
    message: str = ""
    box: list[float] = Field(default_factory=list)
    landmarks: list[list[float]] = Field(default_factory=list)
    size_px: float = 0.0
    det_score: float | None = None
    lr_size: int = 0
    person: NotePerson | None = None
    match: NoteMatch = Field(default_factory=NoteMatch)
    identity_file: str | None = None
    reference: NoteReference | None = None
    seeds: list[int] = Field(default_factory=list)
    candidates: list[NoteCandidate] = Field(default_factory=list)
    identity_similarity_before: float | None = None
    identity_similarity_after: float | None = None
    crops: dict[str, str] = Field(default_factory=dict, description="kind -> PNG path")

    @classmethod
    def of(cls, face: FaceResult) -> NoteFace:
        """The note of a face result."""
        return cls.model_validate(face.to_dict())


class RestoreNote(_Part):
    """The JSON note written beside a restored photo (`<output stem>.idfsr.json`)."""

    format: str = Field(FORMAT, description=f"{FORMAT_PREFIX}<version>")
    note: str = DISCLAIMER
    app: str = ""
    created_at: str = Field("", description="ISO 8601, UTC, to the second")
    source: str = Field("", description="the original photo")
    source_sha256: str | None = None
    output: str | None = None
    model: NoteModel = Field(default_factory=NoteModel)
    face_backend: NoteFaceBackend = Field(default_factory=NoteFaceBackend)
    options: NoteOptions = Field(default_factory=NoteOptions)
    scale: float = 1.0
    width: int = 0
    height: int = 0
    faces: list[NoteFace] = Field(default_factory=list)
    repair: dict[str, Any] | None = Field(
        None, description="the whole photo before its faces: damage (mask pixels, fraction, "
        "regions, method, mask_file), tone (strength, monochrome, black/white points, cast "
        "removed), enlarge (the chain)")
    warnings: list[str] = Field(default_factory=list)
    recomposed_from: str | None = Field(None, description="the output another candidate "
                                        "was chosen in")
    exported_from: str | None = Field(None, description="the output this is a copy of")

    @field_validator("format")
    @classmethod
    def _ours(cls, value: str) -> str:
        if not value.startswith(FORMAT_PREFIX):
            raise ValueError(f"not a restore note (format {value!r})")
        return value

    @property
    def version(self) -> int:
        """The layout's version (1 for `idfsr-restore/1`; 0 when it cannot be told)."""
        tail = self.format.removeprefix(FORMAT_PREFIX)
        return int(tail) if tail.isdigit() else 0

    def to_bytes(self) -> bytes:
        """The note as the bytes of its JSON file."""
        return (self.model_dump_json(indent=2) + "\n").encode("utf-8")


def now_iso() -> str:
    """The note's time stamp: now, UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_note(path: Path) -> RestoreNote:
    """The restore note at `path`; NoteError when it is missing, not JSON or not a note."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NoteError(f"cannot read the restore note {path.name}: {exc}") from exc
    if not isinstance(data, dict) or "format" not in data:
        raise NoteError(f"{path.name} is not a restore note (it says no format)")
    try:
        return RestoreNote.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "the note"
        raise NoteError(f"{path.name} is not a restore note this version can read "
                        f"({where}: {problem['msg']})") from None


def schema() -> dict[str, Any]:
    """The JSON schema of the restore note (docs/restore-note.schema.json)."""
    out = RestoreNote.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **out}


def schema_text() -> str:
    """The schema as the text of its file."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def xmp_packet(*, source: str, model_sha256: str, persons: Sequence[str], faces: int,
               personal: int, when: datetime | None = None) -> bytes:
    """An XMP packet saying that faces of this photo were restored by AI, with what and whom."""
    when = when or datetime.now(UTC)
    text = (f"{faces} face(s) restored by AI (IDFSR Desktop {app_version()}, personalised "
            f"face super-resolution); {personal} as a known person, the rest without a "
            "personal identity. The rest of the photo was enlarged conventionally.")
    people = "".join(f"<rdf:li>{escape(p)}</rdf:li>" for p in persons)
    body = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        '    xmlns:idfsr="urn:x-idfsr-desktop:restore:1.0/"\n'
        f'    xmp:CreatorTool={quoteattr("IDFSR Desktop " + app_version())}\n'
        f'    xmp:ModifyDate="{when.isoformat(timespec="seconds")}"\n'
        '    Iptc4xmpExt:DigitalSourceType='
        '"http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"\n'
        f'    idfsr:Source={quoteattr(source)}\n'
        f'    idfsr:ModelSHA256="{escape(model_sha256)}"\n'
        f'    idfsr:FacesRestored="{faces}"\n'
        f'    idfsr:FacesPersonal="{personal}">\n'
        f'   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(text)}'
        '</rdf:li></rdf:Alt></dc:description>\n'
        f'   <idfsr:Persons><rdf:Bag>{people}</rdf:Bag></idfsr:Persons>\n'
        '  </rdf:Description>\n'
        ' </rdf:RDF>\n'
        '</x:xmpmeta>\n'
        '<?xpacket end="w"?>')
    return body.encode("utf-8")




if __name__ == "__main__":
    print(schema_text(), end="")
