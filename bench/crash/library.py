"""The library the kill loop works on: the demo photos, photos generated from them (so
that every new photo has a real face to find), and synthetic faces for clustering.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "demo"
SYNTH_ROOT = b"/kill-loop-synthetic"  # never on disk: an unreachable root, kept as it is


def demo_portraits() -> list[Path]:
    """The demo library's single-person photos."""
    return sorted((DEMO / "portraits").rglob("*.jpg"))


def composite(source: Path, dest: Path, rng: np.random.Generator) -> Path:
    """A new photo holding the face of `source`: scaled, maybe mirrored, on a noisy canvas
    (unique content, so each one is a new photo with a face to find)."""
    with Image.open(source) as img:
        face = ImageOps.exif_transpose(img).convert("RGB")
    scale = rng.uniform(0.35, 0.6) * 480 / max(face.size)
    face = face.resize((max(1, round(face.width * scale)), max(1, round(face.height * scale))))
    if rng.random() < 0.5:
        face = ImageOps.mirror(face)
    canvas = Image.fromarray(rng.integers(0, 256, (360, 480, 3), dtype=np.uint8), "RGB")
    x = int(rng.integers(0, max(1, canvas.width - face.width)))
    y = int(rng.integers(0, max(1, canvas.height - face.height)))
    canvas.paste(face, (x, y))
    dest.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(dest, "JPEG", quality=88)
    return dest


def add_synthetic_faces(db_file: Path, model_id: str, dim: int, identities: int,
                        per_identity: int, seed: int = 0) -> int:
    """Faces of `identities` people on photos under an unreachable root, embedded by the
    library's own model (so the face pass counts them as done), written straight into the
    DB; returns how many. Same person: cosine ~0.96 (above any model's link threshold);
    different people: ~0."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((identities, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = np.repeat(centres, per_identity, axis=0)
    vectors += (0.2 / np.sqrt(dim)) * rng.standard_normal(vectors.shape)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    landmarks = np.zeros(10, "<f4").tobytes()
    with sqlite3.connect(db_file, timeout=30) as conn:
        conn.execute("INSERT INTO library_roots (path, added_at) VALUES (?, ?)",
                     (SYNTH_ROOT, stamp))
        root = conn.execute("SELECT id FROM library_roots WHERE path = ?",
                            (SYNTH_ROOT,)).fetchone()[0]
        for i, v in enumerate(vectors.astype("<f4")):
            photo = conn.execute(
                "INSERT INTO photos (root_id, path, size, mtime_ns, content_hash, orientation, "
                "status, first_seen_at, indexed_at, faces_hash, faces_model) "
                "VALUES (?, ?, 1, 1, ?, 1, 'ok', ?, ?, ?, ?)",
                (root, SYNTH_ROOT + f"/{i:06d}.jpg".encode(), f"{i:064x}", stamp, stamp,
                 f"{i:064x}", model_id)).lastrowid
            face = conn.execute(
                "INSERT INTO faces (photo_id, x0, y0, x1, y1, landmarks, det_score, quality, "
                "size_px, detector, created_at) VALUES (?, 0, 0, 120, 120, ?, 0.99, 0.8, 120, "
                "'synthetic', ?)", (photo, landmarks, stamp)).lastrowid
            conn.execute("INSERT INTO face_embeddings (face_id, model_id, vector) "
                         "VALUES (?, ?, ?)", (face, model_id, v.tobytes()))
    return len(vectors)
