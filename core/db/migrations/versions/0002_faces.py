"""Faces, their embeddings per recognizer, and the face-index generation counter.

Revision ID: 0002_faces
Revises: 0001_library
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_faces"
down_revision = "0001_library"
branch_labels = None
depends_on = None

_BUMP = """
INSERT INTO face_index_state (model_id, generation) VALUES ({row}.model_id, 1)
ON CONFLICT(model_id) DO UPDATE SET generation = generation + 1;
"""


def upgrade() -> None:
    with op.batch_alter_table("photos") as batch:
        batch.add_column(sa.Column("faces_hash", sa.String(64)))
        batch.add_column(sa.Column("faces_model", sa.String(96)))
        batch.add_column(sa.Column("faces_error", sa.Text))
    op.create_table(
        "faces",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "photo_id", sa.Integer, sa.ForeignKey("photos.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("x0", sa.Float, nullable=False),
        sa.Column("y0", sa.Float, nullable=False),
        sa.Column("x1", sa.Float, nullable=False),
        sa.Column("y1", sa.Float, nullable=False),
        sa.Column("landmarks", sa.LargeBinary, nullable=False),
        sa.Column("det_score", sa.Float, nullable=False),
        sa.Column("quality", sa.Float, nullable=False),
        sa.Column("size_px", sa.Float, nullable=False),
        sa.Column("detector", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_faces_photo_id", "faces", ["photo_id"])
    op.create_table(
        "face_embeddings",
        sa.Column(
            "face_id",
            sa.Integer,
            sa.ForeignKey("faces.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("model_id", sa.String(96), primary_key=True),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_face_embeddings_model_id", "face_embeddings", ["model_id"])
    op.create_table(
        "face_index_state",
        sa.Column("model_id", sa.String(96), primary_key=True),
        sa.Column("generation", sa.Integer, nullable=False),
    )
    # Any change to a model's embeddings (cascaded deletes included) makes its FAISS cache stale.
    op.execute(
        "CREATE TRIGGER face_embeddings_ai AFTER INSERT ON face_embeddings BEGIN"
        + _BUMP.format(row="NEW") + "END"
    )
    op.execute(
        "CREATE TRIGGER face_embeddings_ad AFTER DELETE ON face_embeddings BEGIN"
        + _BUMP.format(row="OLD") + "END"
    )
    op.execute(
        "CREATE TRIGGER face_embeddings_au AFTER UPDATE ON face_embeddings BEGIN"
        + _BUMP.format(row="NEW") + "END"
    )


def downgrade() -> None:
    for name in ("face_embeddings_ai", "face_embeddings_ad", "face_embeddings_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("face_index_state")
    op.drop_index("ix_face_embeddings_model_id", "face_embeddings")
    op.drop_table("face_embeddings")
    op.drop_index("ix_faces_photo_id", "faces")
    op.drop_table("faces")
    with op.batch_alter_table("photos") as batch:
        batch.drop_column("faces_error")
        batch.drop_column("faces_model")
        batch.drop_column("faces_hash")
