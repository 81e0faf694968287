"""The timeline's indexes: photos by date then path, one for each direction, undated last.

A window deep in the Library's timeline (newest or oldest first) walks one of them instead
of sorting every photo; a date filter reads a range of one.

Revision ID: 0004_timeline_index
Revises: 0003_people
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_timeline_index"
down_revision = "0003_people"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_photos_timeline_oldest", "photos", ["captured_at", "path"])
    # Newest first keeps ties in path order: the date descends, the path ascends, which
    # SQLite walks only in an index declared so.
    op.create_index("ix_photos_timeline_newest", "photos",
                    [sa.text("captured_at DESC"), "path"])


def downgrade() -> None:
    op.drop_index("ix_photos_timeline_newest", "photos")
    op.drop_index("ix_photos_timeline_oldest", "photos")
