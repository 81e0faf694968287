"""Writing a restored photo: a new file next to its notes, never over anything.

Every output is a new name (`<stem>-restored.<ext>`, then `-restored-2`, ...) chosen so
that neither the image nor its sidecars (`.idfsr.json`, `.xmp`, the crops folder) exist
yet; each file is written to a temporary file and linked into place, which is atomic
and fails rather than replace a file that appeared meanwhile. The image goes last, so
an image that is there is complete with its notes; when any write fails (a full disk,
a drive pulled out) the files of that output written so far are removed again and the
error says plainly what happened (`OutputWriteError`). The original is only ever read.

The image keeps the original's format where a restored photo can be stored in it, its
EXIF (orientation set to upright, as the pixels now are) and its ICC profile; an XMP
packet says that faces were restored by AI, embedded where the format has room for it
and always in the `.xmp` sidecar.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from numpy.typing import NDArray
from PIL import Image, PngImagePlugin

from core.fsutil import is_temp_file
from core.library.pixels import apply_orientation

log = logging.getLogger(__name__)

_ORIENTATION = 0x0112
_SOFTWARE = 0x0131
_EXIF_IFD = 0x8769
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003
# (Pillow format to save, file suffix) per source format; GIF's 256 colours cannot hold a
# restored photo, and formats Pillow cannot write become PNG.
_FORMATS = {"JPEG": ("JPEG", ".jpg"), "MPO": ("JPEG", ".jpg"), "PNG": ("PNG", ".png"),
            "TIFF": ("TIFF", ".tif"), "WEBP": ("WEBP", ".webp"), "BMP": ("BMP", ".bmp"),
            "DIB": ("BMP", ".bmp"), "HEIF": ("HEIF", ".heic"), "GIF": ("PNG", ".png")}
_SUFFIXES = {"JPEG": {".jpg", ".jpeg", ".jpe"}, "TIFF": {".tif", ".tiff"},
             "HEIF": {".heic", ".heif", ".hif"}}
SIDE_JSON = ".idfsr.json"
SIDE_XMP = ".xmp"
CROPS = "-crops"
# Write failures that say the destination itself is unusable: every other output would
# fail alike, so a run stops at the first.
_DISK_TROUBLE = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the disk is read-only",
    errno.EIO: "the disk reported an input/output error (unplugged, or failing?)",
    errno.ENXIO: "the disk is no longer there (unplugged?)",
    errno.ENODEV: "the disk is no longer there (unplugged?)",
}
Put = Callable[[Path, bytes], None]


class OutputWriteError(OSError):
    """An output could not be written; nothing of it was left behind. `strerror` says why
    in plain words; `disk_trouble` is true when the destination itself is unusable."""

    def __init__(self, cause: OSError, folder: Path) -> None:
        reason = _DISK_TROUBLE.get(cause.errno or 0) or cause.strerror or str(cause)
        self.reason = f"{reason} ({folder})"
        super().__init__(cause.errno, f"{self.reason}; nothing of this output was left behind")
        self.disk_trouble = (cause.errno or 0) in _DISK_TROUBLE


def app_version() -> str:
    """The installed app's version, for the notes."""
    try:
        return metadata.version("idfsr-desktop")
    except metadata.PackageNotFoundError:
        return "dev"


@dataclass(frozen=True)
class SourceInfo:
    """What the output keeps from the original file."""

    format: str  # Pillow's name of the source format
    suffix: str  # the source file's suffix, lower case
    exif: Image.Exif | None
    icc: bytes | None
    alpha: NDArray[np.uint8] | None  # upright alpha, when the original has transparency
    high_bit_depth: bool


def read_source_info(path: Path) -> SourceInfo:
    """Format, EXIF, ICC and alpha of an original that load_image has already read."""
    suffix = path.suffix.lower()
    try:
        with Image.open(path) as img:
            fmt = (img.format or "PNG").upper()
            exif = img.getexif()
            orientation = exif.get(_ORIENTATION, 1)
            icc = img.info.get("icc_profile")
            mode = img.mode
            alpha = None
            if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
                    mode == "P" and "transparency" in img.info):
                band = img.convert("RGBA").getchannel("A")
                upright = apply_orientation(band, orientation if isinstance(orientation, int)
                                            else 1)
                alpha = np.asarray(upright, np.uint8)
            high = mode.startswith("I;16") or mode in ("I", "F")
    except Exception as exc:  # noqa: BLE001 - metadata is a courtesy; the pixels were read
        log.info("could not read metadata of %s: %s", path, exc)
        return SourceInfo("PNG", suffix, None, None, None, False)
    return SourceInfo(fmt, suffix, exif if len(exif) else None,
                      icc if isinstance(icc, bytes) else None, alpha, high)


def output_format(info: SourceInfo) -> tuple[str, str]:
    """(Pillow format, suffix) of the output for this source."""
    fmt, suffix = _FORMATS.get(info.format, ("PNG", ".png"))
    if info.suffix in _SUFFIXES.get(fmt, {suffix}):
        suffix = info.suffix  # keep `.jpeg`, `.tiff`, ... as the user named them
    return fmt, suffix


def _exif_bytes(info: SourceInfo, size: tuple[int, int]) -> bytes | None:
    exif = Image.Exif()
    if info.exif is not None:
        exif = info.exif
        try:
            sub = exif.get_ifd(_EXIF_IFD)
            if _PIXEL_X in sub:
                sub[_PIXEL_X], sub[_PIXEL_Y] = size
        except Exception:  # noqa: BLE001 - a damaged EXIF sub-IFD: keep the rest
            pass
    exif[_ORIENTATION] = 1
    exif[_SOFTWARE] = f"IDFSR Desktop {app_version()} (faces restored by AI)"
    try:
        return bytes(exif.tobytes())
    except Exception as exc:  # noqa: BLE001 - EXIF we cannot write again is dropped, said so
        log.info("EXIF of the source could not be kept: %s", exc)
        return None


_TIFF_KEEP = (270, 271, 272, 306, 315, 33432)  # description, make, model, date, artist, (c)


def _tiff_tags(info: SourceInfo) -> dict[int, Any]:
    tags: dict[int, Any] = {}
    if info.exif is not None:
        tags.update({t: info.exif[t] for t in _TIFF_KEEP if t in info.exif})
    tags[_ORIENTATION] = 1
    tags[_SOFTWARE] = f"IDFSR Desktop {app_version()} (faces restored by AI)"
    return tags


def encode_image(pixels: NDArray[np.uint8], info: SourceInfo, xmp: bytes
                 ) -> tuple[bytes, str, list[str]]:
    """The restored photo encoded like its source: (bytes, suffix, warnings)."""
    warnings: list[str] = []
    fmt, suffix = output_format(info)
    if info.format not in _FORMATS:
        warnings.append(f"{info.format} cannot be written; saved as PNG")
    elif info.format == "GIF":
        warnings.append("a restored photo needs more than GIF's 256 colours; saved as PNG")
    if info.high_bit_depth:
        warnings.append("the source has more than 8 bits per sample; the output has 8")
    img = Image.fromarray(pixels)
    if info.alpha is not None and fmt in ("PNG", "WEBP", "TIFF"):
        alpha = Image.fromarray(info.alpha).resize(img.size, Image.Resampling.BICUBIC)
        img = img.convert("RGBA" if img.mode == "RGB" else "LA")
        img.putalpha(alpha)
    elif info.alpha is not None:
        warnings.append(f"{fmt} has no transparency; it was laid on white")
    kw: dict[str, Any] = {}
    exif = _exif_bytes(info, img.size)
    if info.icc:
        kw["icc_profile"] = info.icc
    if fmt == "JPEG" or fmt == "WEBP":
        kw.update(quality=95, xmp=xmp)
    elif fmt == "PNG":
        png = PngImagePlugin.PngInfo()
        png.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
        kw["pnginfo"] = png
    elif fmt == "TIFF":
        # A TIFF's "EXIF" is its own IFD (strip offsets and all): carry the descriptive
        # tags over, not the layout.
        kw["compression"] = "tiff_deflate"
        kw["tiffinfo"] = _tiff_tags(info)
        exif = None
    elif fmt == "HEIF":
        kw["quality"] = 92
    if exif is not None and fmt != "BMP":
        kw["exif"] = exif
    buf = io.BytesIO()
    try:
        img.save(buf, fmt, **kw)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        if fmt == "JPEG":
            raise
        warnings.append(f"{fmt} could not be written ({exc}); saved as JPEG")
        buf = io.BytesIO()
        img.convert("RGB" if img.mode != "L" else "L").save(
            buf, "JPEG", quality=95, xmp=xmp, **({"exif": exif} if exif else {}))
        suffix = ".jpg"
    return buf.getvalue(), suffix, warnings


def write_new(path: Path, data: bytes) -> None:
    """Create `path` with `data` atomically; FileExistsError if it exists (never replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic, and refuses an existing name
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                                 errno.EMLINK, errno.ENOSYS):
                raise
            # No hard links here (FAT, some network shares): reserve the name, then
            # replace our own empty reservation.
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            try:
                os.replace(tmp, path)
            except BaseException:
                path.unlink(missing_ok=True)  # our empty reservation, not a result
                raise
            tmp = ""
    finally:
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def _taken(folder: Path, stem: str, suffix: str) -> bool:
    names = (stem + suffix, stem + SIDE_JSON, stem + SIDE_XMP, stem + CROPS)
    return any((folder / n).exists() or (folder / n).is_symlink() for n in names)


def write_unique(folder: Path, base: str, suffix: str, data: bytes) -> Path:
    """Write `data` as `<base>-restored<suffix>` (or -2, -3, ...) where no output exists."""
    for n in range(1, 100_000):
        stem = f"{base}-restored" if n == 1 else f"{base}-restored-{n}"
        if _taken(folder, stem, suffix):
            continue
        target = folder / (stem + suffix)
        try:
            write_new(target, data)
        except FileExistsError:
            continue  # someone took it meanwhile
        return target
    raise OSError(f"no free output name for {base} in {folder}")


class _Written:
    """The files (and folders for them) one output has written so far."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: list[Path] = []
        self.folders: list[Path] = []

    def put(self, path: Path, data: bytes) -> None:
        if not path.parent.exists() and path.parent != self.folder:
            self.folders.append(path.parent)
        write_new(path, data)
        self.files.append(path)

    def discard(self) -> None:
        """Remove them again: the files, then the folders made for them."""
        for path in reversed(self.files):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:  # the drive is gone: nothing more can be done from here
                log.warning("could not remove %s after a failed write: %s", path, exc)
        for folder in reversed(self.folders):
            with contextlib.suppress(OSError):  # not empty (not ours alone), or gone
                folder.rmdir()


def write_output(folder: Path, base: str, suffix: str, image: bytes,
                 sidecars: Callable[[Path, Put], None]) -> Path:
    """Write one output as `<base>-restored[-N]<suffix>` where no output exists yet.

    `sidecars(image_path, put)` writes the output's other files through `put`; the image
    is written last. On any failure everything written is removed again; a write error
    becomes an OutputWriteError (a name taken meanwhile: the next name is tried).
    """
    for n in range(1, 100_000):
        stem = f"{base}-restored" if n == 1 else f"{base}-restored-{n}"
        if _taken(folder, stem, suffix):
            continue
        target = folder / (stem + suffix)
        written = _Written(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            sidecars(target, written.put)
            written.put(target, image)
        except FileExistsError:
            written.discard()
            continue  # someone took the name meanwhile
        except OSError as exc:
            written.discard()
            raise OutputWriteError(exc, folder) from exc
        except BaseException:
            written.discard()
            raise
        return target
    raise OSError(f"no free output name for {base} in {folder}")


def _unfinished(note: Path) -> bool:
    """Whether a note is one of ours whose image was never written (its run was killed)."""
    try:
        data = json.loads(note.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict) or not str(data.get("format", "")).startswith("idfsr-"):
        return False
    image = Path(str(data.get("output") or ""))
    return image.parent == note.parent and not (image.exists() or image.is_symlink())


def sweep_unfinished(folder: Path, *, older_than_s: float = 600.0) -> int:
    """Remove what killed runs left in an output folder; return how many files went.

    That is the temp files of our writes, and the notes and crops of an output whose image
    (always written last) is not there. Only what is older than `older_than_s` goes: a run
    in another process may be writing its output right now."""
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    doomed: list[Path] = []
    emptied: list[Path] = []
    for entry in folder.iterdir():
        name = entry.name
        try:
            if entry.lstat().st_mtime >= cutoff:
                continue
        except OSError:
            continue
        if is_temp_file(name) and entry.is_file():
            doomed.append(entry)
        elif name.endswith(SIDE_JSON) and entry.is_file() and _unfinished(entry):
            stem = name.removesuffix(SIDE_JSON)
            crops = folder / (stem + CROPS)
            if crops.is_dir():
                doomed += [p for p in crops.iterdir() if p.is_file() and
                           (p.suffix == ".png" or is_temp_file(p.name))]
                emptied.append(crops)
            doomed += [p for p in (folder / (stem + SIDE_XMP), entry) if p.is_file()]
        elif name.endswith(CROPS) and entry.is_dir():
            doomed += [p for p in entry.iterdir() if is_temp_file(p.name) and p.is_file()]
    removed = 0
    for path in doomed:
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass  # gone already, or not ours to remove: harmless either way
    for crops in emptied:
        with contextlib.suppress(OSError):  # not empty: not ours alone, so it stays
            crops.rmdir()
    return removed


def sidecar_paths(image: Path) -> tuple[Path, Path, Path]:
    """The JSON note, the XMP note and the crops folder of an output image."""
    stem = image.with_suffix("")
    return (stem.with_name(stem.name + SIDE_JSON), stem.with_name(stem.name + SIDE_XMP),
            stem.with_name(stem.name + CROPS))


def json_bytes(data: dict[str, Any]) -> bytes:
    """A note as the bytes of its JSON file."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=str).encode("utf-8")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """A new JSON file (atomic, never over an existing one)."""
    write_new(path, json_bytes(data))


def export_output(image: Path, out_dir: Path) -> Path:
    """Copy a restored photo and its notes into `out_dir` under a free name; returns the copy.

    Nothing is ever replaced: the copy is `<source stem>-restored[-N]<suffix>` like a
    fresh output, its JSON note names the copy as its output, and the crops stay behind
    (they are for reviewing, not keeping).
    """
    side_json, side_xmp, _ = sidecar_paths(image)
    note = json.loads(side_json.read_text(encoding="utf-8"))
    base = Path(str(note.get("source") or image.stem)).stem
    xmp = side_xmp.read_bytes() if side_xmp.is_file() else None

    def notes(target: Path, put: Put) -> None:
        new_json, new_xmp, _ = sidecar_paths(target)
        if xmp is not None:
            put(new_xmp, xmp)
        put(new_json, json_bytes({**note, "output": str(target), "exported_from": str(image)}))

    return write_output(out_dir, base, image.suffix, image.read_bytes(), notes)


def png_bytes(pixels: NDArray[np.uint8]) -> bytes:
    """Pixels as the bytes of a PNG file."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def write_png(path: Path, pixels: NDArray[np.uint8]) -> None:
    """A new PNG file (atomic, never over an existing one)."""
    write_new(path, png_bytes(pixels))


def xmp_packet(*, source: str, model_sha256: str, persons: Sequence[str], faces: int,
               personal: int, when: datetime | None = None) -> bytes:
    """An XMP packet saying that faces of this photo were restored by AI, with what and whom."""
    when = when or datetime.now(UTC)
    text = (f"{faces} face(s) restored by AI (IDFSR Desktop {app_version()}, personalised "
            f"face super-resolution); {personal} as a known person, the rest without a "
            "personal identity. The rest of the photo was enlarged conventionally.")
    people = "".join(f"<rdf:li>{escape(p)}</rdf:li>" for p in persons)
    body = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        '    xmlns:idfsr="urn:x-idfsr-desktop:restore:1.0/"\n'
        f'    xmp:CreatorTool={quoteattr("IDFSR Desktop " + app_version())}\n'
        f'    xmp:ModifyDate="{when.isoformat(timespec="seconds")}"\n'
        '    Iptc4xmpExt:DigitalSourceType='
        '"http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"\n'
        f'    idfsr:Source={quoteattr(source)}\n'
        f'    idfsr:ModelSHA256="{escape(model_sha256)}"\n'
        f'    idfsr:FacesRestored="{faces}"\n'
        f'    idfsr:FacesPersonal="{personal}">\n'
        f'   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(text)}'
        '</rdf:li></rdf:Alt></dc:description>\n'
        f'   <idfsr:Persons><rdf:Bag>{people}</rdf:Bag></idfsr:Persons>\n'
        '  </rdf:Description>\n'
        ' </rdf:RDF>\n'
        '</x:xmpmeta>\n'
        '<?xpacket end="w"?>')
    return body.encode("utf-8")


def write_crops(folder: Path, crops: dict[str, NDArray[np.uint8]],
                on_written: Callable[[str, Path], None]) -> None:
    """Per-face crops as new PNGs in the output's crops folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, pixels in crops.items():
        path = folder / f"{name}.png"
        write_png(path, pixels)
        on_written(name, path)
