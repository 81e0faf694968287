"""The library database: SQLAlchemy 2 models, sessions and Alembic migrations."""

from core.db.database import Database
from core.db.models import Base, LibraryRoot, Photo, PhotoStatus, ScanIssue

__all__ = ["Base", "Database", "LibraryRoot", "Photo", "PhotoStatus", "ScanIssue"]
