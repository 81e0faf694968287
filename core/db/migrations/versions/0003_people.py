"""People: persons, each face's person and its source, "not this person", the edit log.

Revision ID: 0003_people
Revises: 0002_faces
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_people"
down_revision = "0002_faces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200)),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.Column(
            "cover_face_id", sa.Integer, sa.ForeignKey("faces.id", ondelete="SET NULL")
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sqlite_autoincrement=True,  # a person id is never reused
    )
    op.create_table(
        "face_persons",
        sa.Column(
            "face_id", sa.Integer, sa.ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("persons.id", ondelete="CASCADE")),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("model_id", sa.String(96)),
        sa.Column("score", sa.Float),
        sa.Column("assigned_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_face_persons_person_id", "face_persons", ["person_id"])
    op.create_table(
        "face_rejections",
        sa.Column(
            "face_id", sa.Integer, sa.ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "person_id",
            sa.Integer,
            sa.ForeignKey("persons.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_face_rejections_person_id", "face_rejections", ["person_id"])
    op.create_table(
        "people_edits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("before", sa.Text, nullable=False),
        sa.Column("undone", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("people_edits")
    op.drop_index("ix_face_rejections_person_id", "face_rejections")
    op.drop_table("face_rejections")
    op.drop_index("ix_face_persons_person_id", "face_persons")
    op.drop_table("face_persons")
    op.drop_table("persons")
