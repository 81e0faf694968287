"""Saving a restored result where, as what and in which format the user says, like a photo
app's Save As, optionally with a before/after comparison beside it.

The result's notes go with it (the XMP "restored by AI" packet inside the file and beside it,
the JSON note naming the new file). Nothing is ever replaced: a taken name becomes
`name-2`, `name-3`, ...; the original is only read (for the comparison).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.errors import IdfsrError
from core.library.imageio import load_image
from core.restore.encoding import encode_image, read_source_info
from core.restore.notes import read_note
from core.restore.outputs import sidecar_paths, write_new

# Pillow's format name: the suffixes a name may end with (the first is the usual one).
SAVE_FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "TIFF": (".tif", ".tiff"),
                "WEBP": (".webp",)}
COMPARISON = "-comparison"  # the before/after image: `<name>-comparison<suffix>`


@dataclass(frozen=True)
class Saved:
    """What a save wrote: the photo, the comparison (if asked for), whether a name was taken."""

    image: Path
    comparison: Path | None = None
    renamed: bool = False


def save_format(path: Path) -> str:
    """The format a file name asks for ('JPEG', 'PNG', 'TIFF', 'WEBP')."""
    suffix = path.suffix.lower()
    for fmt, suffixes in SAVE_FORMATS.items():
        if suffix in suffixes:
            return fmt
    known = ", ".join(s for suffixes in SAVE_FORMATS.values() for s in suffixes)
    raise IdfsrError(f"cannot save as {path.name!r}: the name must end with one of {known}")


def _taken(path: Path) -> bool:
    side_json, side_xmp, _ = sidecar_paths(path)
    return any(p.exists() or p.is_symlink() for p in (path, side_json, side_xmp))


def free_path(path: Path) -> Path:
    """`path`, or `stem-2`, `stem-3`, ... beside it: the first whose file and notes are free."""
    for n in range(1, 100_000):
        candidate = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not _taken(candidate):
            return candidate
    raise IdfsrError(f"no free name for {path.name} in {path.parent}")


def comparison_pixels(before: Image.Image, after: Image.Image) -> np.ndarray:
    """The original (enlarged to the result's size) left of the result, labelled."""
    after = after.convert("RGB")
    w, h = after.size
    gap = max(2, w // 200)
    canvas = Image.new("RGB", (2 * w + gap, h), (255, 255, 255))
    canvas.paste(before.convert("RGB").resize((w, h), Image.Resampling.LANCZOS), (0, 0))
    canvas.paste(after, (w + gap, 0))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(12, h // 24))
    pad = max(4, h // 80)
    for text, left in (("Before", 0), ("After (faces restored by AI)", w + gap)):
        x0, y0, x1, y1 = draw.textbbox((left + 2 * pad, 2 * pad), text, font=font)
        draw.rectangle((x0 - pad, y0 - pad, x1 + pad, y1 + pad), fill=(0, 0, 0))
        draw.text((left + 2 * pad, 2 * pad), text, fill=(255, 255, 255), font=font)
    return np.asarray(canvas, np.uint8)


def save_restored(result: Path, target: Path, *, original: Path | None = None,
                  max_pixels: int = 250_000_000) -> Saved:
    """Save the restored photo `result` (a run's output, with its notes) as `target`, in the
    format its suffix names; with `original`, also the before/after comparison beside it."""
    fmt = save_format(target)
    if original is not None and target.resolve() == original.resolve():
        raise IdfsrError(f"{target.name} is the original photo; choose another name")
    side_json, side_xmp, _ = sidecar_paths(result)
    note = read_note(side_json) if side_json.is_file() else None
    xmp = side_xmp.read_bytes() if side_xmp.is_file() else b""
    source = read_source_info(result)
    info = replace(source, format=fmt, suffix=target.suffix.lower())
    with load_image(result, max_pixels=max_pixels) as img:
        after = img.copy()
    if source.format == fmt:  # the same format: the very bytes (a JPEG is not compressed twice)
        data, suffix = result.read_bytes(), target.suffix
    else:
        data, suffix, _ = encode_image(np.asarray(after, np.uint8), info, xmp)
    image = free_path(target.with_suffix(suffix))
    written: list[Path] = []

    def put(path: Path, content: bytes) -> None:
        write_new(path, content)
        written.append(path)

    try:
        new_json, new_xmp, _ = sidecar_paths(image)
        if xmp:
            put(new_xmp, xmp)
        if note is not None:
            put(new_json, note.model_copy(update={"output": str(image),
                                                  "exported_from": str(result)}).to_bytes())
        put(image, data)  # last: a note without its image is an unfinished save
        comparison = None
        if original is not None:
            with load_image(original, max_pixels=max_pixels) as before:
                pixels = comparison_pixels(before, after)
            side, side_suffix, _ = encode_image(pixels, info, xmp)
            comparison = free_path(image.with_name(image.stem + COMPARISON + side_suffix))
            put(comparison, side)
    except BaseException:
        for path in reversed(written):
            path.unlink(missing_ok=True)
        raise
    return Saved(image, comparison, renamed=image != target.with_suffix(suffix))
