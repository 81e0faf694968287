"""Library roots, photos and scan issues.

Revision ID: 0001_library
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_library"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "library_roots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.Column("last_scan_at", sa.DateTime),
    )
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "root_id",
            sa.Integer,
            sa.ForeignKey("library_roots.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("path", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("format", sa.String(16)),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("orientation", sa.Integer, nullable=False),
        sa.Column("captured_at", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_kind", sa.String(32)),
        sa.Column("error", sa.Text),
        sa.Column("first_seen_at", sa.DateTime, nullable=False),
        sa.Column("indexed_at", sa.DateTime, nullable=False),
        sa.Column("missing_since", sa.DateTime),
    )
    op.create_index("ix_photos_content_hash", "photos", ["content_hash"])
    op.create_index("ix_photos_root_status", "photos", ["root_id", "status"])
    op.create_table(
        "scan_issues",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "root_id",
            sa.Integer,
            sa.ForeignKey("library_roots.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("path", sa.LargeBinary, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("seen_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_scan_issues_root_id", "scan_issues", ["root_id"])


def downgrade() -> None:
    op.drop_index("ix_scan_issues_root_id", "scan_issues")
    op.drop_table("scan_issues")
    op.drop_index("ix_photos_root_status", "photos")
    op.drop_index("ix_photos_content_hash", "photos")
    op.drop_table("photos")
    op.drop_table("library_roots")
