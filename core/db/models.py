"""ORM models of the library. The schema itself is owned by the Alembic revisions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.db.types import FsPath, UtcDateTime, utcnow


class Base(DeclarativeBase):
    """Declarative base of every table."""


class PhotoStatus(enum.StrEnum):
    """Where a photo stands in the index."""

    OK = "ok"  # read, measured, thumbnail made
    ERROR = "error"  # present but unreadable; `error` says why
    MISSING = "missing"  # was indexed, no longer on disk (kept until purged)


class LibraryRoot(Base):
    """A folder the user asked the app to index (recursively)."""

    __tablename__ = "library_roots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_scan_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    photos: Mapped[list[Photo]] = relationship(back_populates="root", passive_deletes=True)


class Photo(Base):
    """One image file in the library. Width and height are as displayed (after orientation)."""

    __tablename__ = "photos"
    __table_args__ = (
        Index("ix_photos_root_status", "root_id", "status"),
        # The timeline, one index per direction (see core.library.browse._ordered).
        Index("ix_photos_timeline_oldest", "captured_at", "path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_id: Mapped[int] = mapped_column(ForeignKey("library_roots.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    format: Mapped[str | None] = mapped_column(String(16))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    orientation: Mapped[int] = mapped_column(Integer, default=1)
    captured_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default=PhotoStatus.OK)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    indexed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    missing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The face pass: which content and which embedding model the faces were found with.
    faces_hash: Mapped[str | None] = mapped_column(String(64))
    faces_model: Mapped[str | None] = mapped_column(String(96))
    faces_error: Mapped[str | None] = mapped_column(Text)

    root: Mapped[LibraryRoot] = relationship(back_populates="photos")
    faces: Mapped[list[Face]] = relationship(back_populates="photo", passive_deletes=True)


# Newest first keeps ties in path order: date descending, path ascending, an order SQLite
# walks only in an index declared so.
Index("ix_photos_timeline_newest", Photo.captured_at.desc(), Photo.path)


class ScanIssue(Base):
    """A problem met while walking a root that is not a photo: a loop, a folder we cannot list."""

    __tablename__ = "scan_issues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_id: Mapped[int] = mapped_column(
        ForeignKey("library_roots.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(FsPath)
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Face(Base):
    """One face found in a photo: where it is, how sure and how good. Geometry is in the
    upright photo's pixels; landmarks are 5 (x, y) float32 pairs (see core.faces.align)."""

    __tablename__ = "faces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), index=True
    )
    x0: Mapped[float] = mapped_column(Float)
    y0: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    landmarks: Mapped[bytes] = mapped_column(LargeBinary)
    det_score: Mapped[float] = mapped_column(Float)
    quality: Mapped[float] = mapped_column(Float)
    size_px: Mapped[float] = mapped_column(Float)
    detector: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    photo: Mapped[Photo] = relationship(back_populates="faces")


class FaceEmbedding(Base):
    """A face's L2-normalised float32 embedding by one recognizer (`model_id`)."""

    __tablename__ = "face_embeddings"

    face_id: Mapped[int] = mapped_column(
        ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[str] = mapped_column(String(96), primary_key=True, index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class FaceIndexState(Base):
    """Bumped by triggers on every change to one model's embeddings: the FAISS cache's
    staleness check."""

    __tablename__ = "face_index_state"

    model_id: Mapped[str] = mapped_column(String(96), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class FaceSource(enum.StrEnum):
    """Who put a face with a person: the clustering, or the user (who always wins)."""

    AUTO = "auto"  # the clustering of one embedding model; redone by every re-cluster
    CONFIRMED = "confirmed"  # the user said: yes, this face is this person
    MOVED = "moved"  # the user put the face there (move, split, merge of a user face)
    UNASSIGNED = "unassigned"  # the user took the face out of every person (no person_id)
    IGNORED = "ignored"  # a stranger the user does not want to see (no person_id)


class Person(Base):
    """Someone in the library. Model-independent: assignments come from one model's
    clustering, the user's decisions hold whatever the model. Ids are never reused
    (AUTOINCREMENT), so an undo, a fitted identity or a log can name a person safely."""

    __tablename__ = "persons"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    cover_face_id: Mapped[int | None] = mapped_column(
        ForeignKey("faces.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FacePerson(Base):
    """A face the people pass has considered: its person (None: nobody, yet) and why."""

    __tablename__ = "face_persons"

    face_id: Mapped[int] = mapped_column(
        ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(16), default=FaceSource.AUTO)
    # For `auto` rows: the embedding model whose clustering decided, and how close it was.
    model_id: Mapped[str | None] = mapped_column(String(96))
    score: Mapped[float | None] = mapped_column(Float)
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FaceRejection(Base):
    """"Not this person": the face is never assigned to that person again."""

    __tablename__ = "face_rejections"

    face_id: Mapped[int] = mapped_column(
        ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PeopleEdit(Base):
    """One user edit of people, with what its rows were before: undo restores them."""

    __tablename__ = "people_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    before: Mapped[str] = mapped_column(Text)  # JSON snapshot (core.people.history)
    undone: Mapped[bool] = mapped_column(Boolean, default=False)
