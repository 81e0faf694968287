"""A prepared dataset as one small file, to move it to a training machine.

The shards of a prepared dataset are raw pixels (a 128 px face is 48 KiB); a pack keeps
each face as a WebP (about 3 KiB at quality 90, 42 dB), its landmarks, a 16-bit copy of
its embedding and its index entry, so twenty thousand faces travel in tens of megabytes.
`unpack` writes an ordinary prepared dataset again. The pack is a plain .npz: no pickles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.errors import IdfsrError
from core.idfsr.dataset import DatasetWriter, PreparedFaces, Recognizer
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress

PACK_FORMAT = "idfsr-faces-pack"


def pack_dataset(src: Path, dest: Path, *, quality: int = 90, min_face_px: float = 0.0,
                 progress: ProgressCallback = no_progress,
                 cancel: CancelToken | None = None) -> dict[str, Any]:
    """Write the faces of `src` whose source face was at least `min_face_px` wide (the ones
    a config with that min_face_px trains on) to the pack `dest`; returns a summary."""
    data = PreparedFaces(src)
    keep = [i for i, item in enumerate(data.items)
            if float(item.get("face_px", 1e9)) >= min_face_px]
    if not keep:
        raise IdfsrError(f"no face in {src} is at least {min_face_px:g} px wide")
    blobs: list[bytes] = []
    for n, i in enumerate(keep):
        if cancel is not None:
            cancel.raise_if_cancelled()
        ok, buf = cv2.imencode(".webp", np.ascontiguousarray(data.face(i)[:, :, ::-1]),
                               [cv2.IMWRITE_WEBP_QUALITY, int(quality)])
        if not ok:
            raise IdfsrError(f"could not encode face {i} of {src}")
        blobs.append(buf.tobytes())
        if (n + 1) % 500 == 0 or n + 1 == len(keep):
            progress(Progress("pack", n + 1, len(keep), "faces"))
    skip = ("count", "shards", "items")
    index = {k: v for k, v in data.index.items() if k not in skip}
    index.update(pack_format=PACK_FORMAT, pack_quality=int(quality),
                 items=[data.items[i] for i in keep])
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    with tmp.open("wb") as fh:
        np.savez(fh, index=np.frombuffer(json.dumps(index).encode("utf-8"), np.uint8),
                 blob=np.frombuffer(b"".join(blobs), np.uint8), offsets=offsets,
                 landmarks=data.landmarks[keep].astype(np.float32),
                 embeddings=data.embeddings[keep].astype(np.float16))
    tmp.replace(dest)
    return {"faces": len(keep), "of": len(data), "bytes": dest.stat().st_size,
            "pack": str(dest)}


def unpack_dataset(pack: Path, dest: Path, *, progress: ProgressCallback = no_progress,
                   cancel: CancelToken | None = None) -> PreparedFaces:
    """Write the prepared dataset held in `pack` to the folder `dest` and open it."""
    try:
        with np.load(pack, allow_pickle=False) as z:
            index = json.loads(z["index"].tobytes().decode("utf-8"))
            blob, offsets = z["blob"], z["offsets"]
            landmarks, embeddings = z["landmarks"], z["embeddings"].astype(np.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise IdfsrError(f"{pack} is not a readable dataset pack: {exc}") from exc
    if index.get("pack_format") != PACK_FORMAT:
        raise IdfsrError(f"{pack} is not an {PACK_FORMAT} file")
    items = index.pop("items")
    index.pop("pack_format")
    rec, size = index["recognizer"], int(index["size"])
    meta = {k: v for k, v in index.items()
            if k not in ("format", "version", "size", "template", "recognizer")}
    writer = DatasetWriter(dest, size, Recognizer(rec["name"], rec["model_id"], int(rec["dim"])),
                           meta)
    for i, item in enumerate(items):
        if cancel is not None:
            cancel.raise_if_cancelled()
        face = cv2.imdecode(blob[offsets[i]:offsets[i + 1]], cv2.IMREAD_COLOR)
        if face is None or face.shape != (size, size, 3):
            raise IdfsrError(f"{pack}: face {i} does not decode to {size} x {size}")
        writer.add(np.ascontiguousarray(face[:, :, ::-1]), landmarks[i], embeddings[i], item)
        if (i + 1) % 500 == 0 or i + 1 == len(items):
            progress(Progress("unpack", i + 1, len(items), "faces"))
    writer.close()
    return PreparedFaces(dest)
