"""ORM models of the library. The schema itself is owned by the Alembic revisions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
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
    __table_args__ = (Index("ix_photos_root_status", "root_id", "status"),)

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

    root: Mapped[LibraryRoot] = relationship(back_populates="photos")


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
