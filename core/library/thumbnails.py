"""Photo thumbnails: a disk cache keyed by content hash, rebuilt on demand from the original."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from core.errors import ImageReadError
from core.fsutil import atomic_write_bytes
from core.library.imageio import inspect_image


def thumbnail_file(cache_dir: Path, content_hash: str) -> Path:
    """Where the thumbnail of a file with this content hash lives."""
    return cache_dir / content_hash[:2] / f"{content_hash}.jpg"


def save_thumbnail(cache_dir: Path, content_hash: str, thumb: Image.Image) -> Path:
    """Encode and store a thumbnail (no fsync: the cache can always be rebuilt)."""
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=85)
    target = thumbnail_file(cache_dir, content_hash)
    atomic_write_bytes(target, buf.getvalue(), durable=False)
    return target


def ensure_thumbnail(
    cache_dir: Path, photo_path: str, content_hash: str, *, size: int, max_pixels: int
) -> Path | None:
    """The cached thumbnail, generated from the original if absent; None if unreadable."""
    target = thumbnail_file(cache_dir, content_hash)
    if target.exists():
        return target
    try:
        _, thumb = inspect_image(Path(photo_path), max_pixels=max_pixels, thumb_size=size)
    except (ImageReadError, OSError):
        return None
    assert thumb is not None
    return save_thumbnail(cache_dir, content_hash, thumb)
