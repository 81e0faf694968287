"""Builders for the restoration tests: a tiny seeded IDFSR model in the library's identity
space, saved as a real model folder (so the real loading code runs), and a small library."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from idfsr_support import tiny_net, tiny_restorer
from PIL import Image
from pydantic import BaseModel

from core.idfsr.checkpoint import save_model
from core.idfsr.config import DiffusionConfig
from core.idfsr.dataset import Recognizer
from core.idfsr.diffusion import training_scheduler

SIZE = 64
EMBEDDED_MODEL_ID = "dlib-resnet-v1"  # what the embedded face backend's embeddings are
EMBEDDED_DIM = 128
MOBILEFACE_ID = "mobileface-v1"  # the recognizer a restorer takes its identities from
MOBILEFACE_DIM = 256


def tiny_restoration_model(folder: Path, seed: int = 0, size: int = SIZE) -> Path:
    """A ~0.3M-parameter network (tiny.json) that takes the embedded backend's embeddings,
    saved."""
    net = tiny_net(seed, size=size,
                   recognizer=Recognizer("embedded", EMBEDDED_MODEL_ID, EMBEDDED_DIM))
    save_model(net, training_scheduler(DiffusionConfig()), folder,
               {"config_name": "test-tiny", "data": {"licence": "test"}})
    return folder


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, well-formed PNG whose header claims an enormous image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def tiny_restorer_folder(folder: Path, seed: int = 0, size: int = SIZE) -> Path:
    """A tiny seeded one-pass restorer (tiny.json) in the bundled recognizer's identity
    space, saved. Its last convolutions are seeded (not zero), so what it restores differs
    from its input.
    """
    net = tiny_restorer(seed, MOBILEFACE_ID, MOBILEFACE_DIM, size=size, wake=0.05)
    save_model(net, None, folder, {"config_name": "test-tiny-restorer",
                                   "data": {"licence": "test"}})
    return folder


def untyped_keys(model: BaseModel, where: str = "note") -> list[str]:
    """Keys of a note (and its parts) that no field of the model names."""
    found = [f"{where}.{k}" for k in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            found += untyped_keys(value, f"{where}.{name}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found += untyped_keys(item, f"{where}.{name}[{i}]")
    return found


GROUPS = Path(__file__).resolve().parent / "fixtures" / "faces" / "groups"


def old_print_of_two_people(path: Path) -> Path:
    """Barack Obama and Joe Biden ten times smaller and grey, at `path`: an old print scanned
    small (faces of 12-20 px)."""
    img = Image.open(GROUPS / "two_people.jpg").convert("RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.resize((round(img.width / 10), round(img.height / 10)), Image.Resampling.LANCZOS).convert(
        "L").save(path)
    return path
