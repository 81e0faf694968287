"""The prepared face dataset on disk: aligned uint8 crops in .npy shards plus a JSON index.

Layout of a dataset folder:
    index.json          format version, crop size, recognizer, one entry per face
    faces-00000.npy     (n, S, S, 3) uint8, canonical-template crops (several shards)
    landmarks.npy       (N, 5, 2) float32, landmarks in crop pixels
    embeddings.npy      (N, D) float32, the recognizer's L2-normalised embeddings
Everything loads with numpy's allow_pickle=False; the shards are memory-mapped.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from core.errors import IdfsrError
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress

FORMAT = "idfsr-faces"
VERSION = 1
INDEX_NAME = "index.json"
SHARD_SIZE = 2048


def shard_name(i: int) -> str:
    """File name of shard i."""
    return f"faces-{i:05d}.npy"


@dataclass(frozen=True)
class Recognizer:
    """Which recognizer made the embeddings (they never mix across model ids)."""

    name: str
    model_id: str
    dim: int


class PreparedFaces:
    """Read access to a prepared dataset (memory-mapped)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        index_file = self.folder / INDEX_NAME
        if not index_file.is_file():
            raise IdfsrError(f"{self.folder} is not a prepared dataset (no {INDEX_NAME}); "
                             "make one with `idfsr data prepare`")
        index = json.loads(index_file.read_text(encoding="utf-8"))
        if index.get("format") != FORMAT or index.get("version") != VERSION:
            raise IdfsrError(f"{index_file} is not an {FORMAT} v{VERSION} index")
        self.index: dict[str, Any] = index
        self.size = int(index["size"])
        rec = index["recognizer"]
        self.recognizer = Recognizer(rec["name"], rec["model_id"], int(rec["dim"]))
        self.items: list[dict[str, Any]] = index["items"]
        self._shards = self._open_shards()
        self._starts = np.cumsum([0] + [len(s) for s in self._shards])
        self.landmarks = np.load(self.folder / "landmarks.npy", allow_pickle=False)
        self.embeddings = np.load(self.folder / "embeddings.npy", allow_pickle=False)
        if not (len(self.items) == self._starts[-1] == len(self.landmarks)
                == len(self.embeddings)):
            raise IdfsrError(f"{self.folder}: index, shards and arrays disagree on the count")
        groups: dict[str, list[int]] = {}
        for i, item in enumerate(self.items):
            if item.get("identity"):
                groups.setdefault(item["identity"], []).append(i)
        self.groups = groups

    def _open_shards(self) -> list[NDArray[np.uint8]]:
        return [np.load(self.folder / s["file"], mmap_mode="r", allow_pickle=False)
                for s in self.index["shards"]]

    def __getstate__(self) -> dict[str, Any]:
        # Loader workers started by "spawn" (macOS, Windows) get the dataset pickled:
        # send the folder, not the memory-mapped pixels, and map them again there.
        state = self.__dict__.copy()
        state["_shards"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._shards = self._open_shards()

    def __len__(self) -> int:
        return len(self.items)

    def face(self, i: int) -> NDArray[np.uint8]:
        """The S x S x 3 crop of face i (a copy, safe to modify)."""
        shard = int(np.searchsorted(self._starts, i, side="right")) - 1
        return np.array(self._shards[shard][i - self._starts[shard]])

    def valid_mask(self, i: int) -> NDArray[np.float32] | None:
        """Where face i's crop shows the photo (1) rather than edge padding (0); None: all."""
        quad = self.items[i].get("photo_quad")
        if not quad:
            return None
        mask = np.zeros((self.size, self.size), np.float32)
        # Drawn 4x finer then averaged: a soft, sub-pixel edge.
        fine = np.zeros((4 * self.size, 4 * self.size), np.float32)
        pts = np.round((np.asarray(quad) + 0.5) * 4 - 0.5).astype(np.int32)
        cv2.fillConvexPoly(fine, pts, 1.0)
        mask[:] = cv2.resize(fine, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return mask

    def identity(self, i: int) -> str | None:
        """The person label of face i, if the source had one."""
        value = self.items[i].get("identity")
        return str(value) if value else None

    def others(self, i: int) -> list[int]:
        """The other faces of the same labelled person (empty when unlabelled or alone)."""
        ident = self.identity(i)
        return [j for j in self.groups.get(ident, []) if j != i] if ident else []

    def split(self, val_permille: int) -> tuple[list[int], list[int]]:
        """(train, validation) indices, split by identity (or by file when unlabelled)."""
        train: list[int] = []
        val: list[int] = []
        for i, item in enumerate(self.items):
            key = item.get("identity") or item.get("source", str(i))
            (val if zlib.crc32(key.encode()) % 1000 < val_permille else train).append(i)
        if not train:
            train, val = val, []
        return train, val

    def describe(self) -> dict[str, Any]:
        """Provenance of the data, for model cards."""
        return {
            "source": self.index.get("source", ""),
            "licence": self.index.get("licence", ""),
            "faces": len(self),
            "identities": len(self.groups),
            "recognizer": self.recognizer.model_id,
        }


class DatasetWriter:
    """Accumulates faces and writes shards; `close()` writes the index and arrays."""

    def __init__(self, folder: Path, size: int, recognizer: Recognizer,
                 meta: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.size, self.recognizer, self.meta = size, recognizer, meta
        self.items: list[dict[str, Any]] = []
        self.shards: list[dict[str, Any]] = []
        self._faces: list[NDArray[np.uint8]] = []
        self._landmarks: list[NDArray[np.float32]] = []
        self._embeddings: list[NDArray[np.float32]] = []

    def add(self, face: NDArray[np.uint8], landmarks: NDArray[Any],
            embedding: NDArray[Any], item: dict[str, Any]) -> None:
        """Queue one aligned face with its crop landmarks, embedding and metadata."""
        if face.shape != (self.size, self.size, 3):
            raise ValueError(f"face is {face.shape}, expected {(self.size, self.size, 3)}")
        self._faces.append(face.astype(np.uint8))
        self._landmarks.append(np.asarray(landmarks, np.float32).reshape(5, 2))
        self._embeddings.append(np.asarray(embedding, np.float32).reshape(-1))
        self.items.append(item)
        if len(self._faces) - sum(s["count"] for s in self.shards) >= SHARD_SIZE:
            self._flush()

    def _flush(self) -> None:
        done = sum(s["count"] for s in self.shards)
        pending = self._faces[done:]
        if not pending:
            return
        name = shard_name(len(self.shards))
        np.save(self.folder / name, np.stack(pending), allow_pickle=False)
        self.shards.append({"file": name, "count": len(pending)})
        # Keep only what is not yet on disk in memory.
        self._faces[done:] = [np.empty(0, np.uint8)] * len(pending)

    def close(self, extra: dict[str, Any] | None = None) -> Path:
        """Write the last shard, the arrays and index.json; returns the index path."""
        self._flush()
        dim = self.recognizer.dim
        lms = np.stack(self._landmarks) if self._landmarks else np.zeros((0, 5, 2), np.float32)
        emb = np.stack(self._embeddings) if self._embeddings else np.zeros((0, dim), np.float32)
        np.save(self.folder / "landmarks.npy", lms, allow_pickle=False)
        np.save(self.folder / "embeddings.npy", emb, allow_pickle=False)
        index = {
            "format": FORMAT, "version": VERSION, "size": self.size, "template": "canonical",
            "recognizer": {"name": self.recognizer.name, "model_id": self.recognizer.model_id,
                           "dim": dim},
            **self.meta, **(extra or {}),
            "count": len(self.items), "shards": self.shards, "items": self.items,
        }
        path = self.folder / INDEX_NAME
        path.write_text(json.dumps(index, indent=1), encoding="utf-8")
        return path


def embed_dataset(folder: Path, model_id: str, *, progress: ProgressCallback = no_progress,
                  cancel: CancelToken | None = None, batch: int = 64) -> Recognizer:
    """Replace a prepared dataset's embeddings with those of a built-in torch recognizer
    (core.faces.recognizers), computed from its aligned crops; returns the recognizer."""
    from core.faces.recognizers import open_recognizer  # heavy: torch

    data = PreparedFaces(folder)
    rec = open_recognizer(model_id)
    out = np.zeros((len(data), rec.dim), np.float32)
    for start in range(0, len(data), batch):
        if cancel is not None:
            cancel.raise_if_cancelled()
        stop = min(len(data), start + batch)
        out[start:stop] = rec.embed_canonical(np.stack([data.face(i) for i in range(start, stop)]))
        progress(Progress("embed", stop, len(data), model_id))
    np.save(data.folder / "embeddings.npy", out, allow_pickle=False)
    recognizer = Recognizer(model_id, model_id, rec.dim)
    index = dict(data.index)
    index["recognizer"] = {"name": recognizer.name, "model_id": model_id, "dim": rec.dim}
    path = data.folder / INDEX_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(index, indent=1), encoding="utf-8")
    tmp.replace(path)
    return recognizer


def merge_datasets(sources: list[Path], dst: Path) -> Path:
    """One dataset from several prepared with the same crop size and recognizer (for
    example shards prepared in parallel); items keep their metadata. Returns the index."""
    parts = [PreparedFaces(s) for s in sources]
    if not parts:
        raise IdfsrError("nothing to merge")
    first = parts[0]
    for p in parts[1:]:
        if (p.size, p.recognizer) != (first.size, first.recognizer):
            raise IdfsrError(f"{p.folder} has {p.size} px faces by {p.recognizer.model_id}, "
                             f"{first.folder} has {first.size} px by "
                             f"{first.recognizer.model_id}: they cannot be merged")
    keep = ("format", "version", "size", "template", "recognizer", "count", "shards", "items")
    meta = {k: v for k, v in first.index.items() if k not in keep}
    meta["merged_from"] = [str(p.folder) for p in parts]
    writer = DatasetWriter(dst, first.size, first.recognizer, meta)
    for p in parts:
        for i, item in enumerate(p.items):
            writer.add(p.face(i), p.landmarks[i], p.embeddings[i], dict(item))
    return writer.close()
