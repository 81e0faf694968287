"""Checking a weights file is a whole, plain safetensors file before anything loads it.

A safetensors file is an 8-byte little-endian header length, a JSON header (each
tensor's dtype, shape and byte range; `__metadata__` strings), then the raw bytes. We
read only that header, with our own code, and refuse with a clear message: a pickle
(or PyTorch's zip of one) under a `.safetensors` name, which is never opened since
unpickling can run code; a file cut short or padded; a header that does not add up.
The model loaders call this first, so a damaged file is explained instead of surfacing
as a library's internal error.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from core.errors import ModelCorruptError

# bytes per element of each dtype safetensors knows
DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
    "U32": 4, "I32": 4, "F32": 4,
    "U64": 8, "I64": 8, "F64": 8,
}
MAX_HEADER_BYTES = 100 << 20  # the format's own limit

_PICKLE_PROTOCOL_MARKS = {bytes([0x80, n]) for n in range(2, 6)}


def _kind_of(head: bytes) -> str | None:
    """What a file that is not safetensors seems to be, from its first bytes."""
    if head[:2] in _PICKLE_PROTOCOL_MARKS:
        return "a Python pickle"
    if head[:4] == b"PK\x03\x04":
        return "a zip archive (PyTorch's torch.save format, a pickle inside)"
    return None


def read_header(path: Path, what: str = "weights file") -> dict[str, Any]:
    """The validated JSON header of a safetensors file; ModelCorruptError if it is not one.

    `what` names the file in messages ("IDFSR model weights", "identity file")."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            # A header length of 0x280, 0x380, ... starts with a pickle's protocol mark
            # too: a length that fits the file and a JSON object after it win.
            n = int.from_bytes(head, "little") if len(head) == 8 else 0
            plausible = 2 <= n <= MAX_HEADER_BYTES and 8 + n <= size and fh.read(1) == b"{"
            fh.seek(8)
            other = None if plausible else _kind_of(head)
            if other is not None:
                raise ModelCorruptError(
                    f"the {what} {path} is {other}, not a safetensors file: refused (pickled "
                    "files can run code when loaded, so they are never opened)")
            if len(head) < 8:
                raise ModelCorruptError(f"the {what} {path} is empty or cut short "
                                        f"({size} bytes); it is not a usable safetensors file")
            n = int.from_bytes(head, "little")
            if n < 2 or n > MAX_HEADER_BYTES or 8 + n > size:
                raise ModelCorruptError(
                    f"the {what} {path} is not a safetensors file, or is truncated: it "
                    f"announces a {n}-byte header in a {size}-byte file")
            raw = fh.read(n)
    except OSError as exc:
        raise ModelCorruptError(f"the {what} {path} cannot be read: {exc}") from exc
    try:
        header = json.loads(raw.rstrip(b" "))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelCorruptError(f"the {what} {path} has a damaged header (not JSON); "
                                "it is not a usable safetensors file") from exc
    if not isinstance(header, dict):
        raise ModelCorruptError(f"the {what} {path} has a damaged header")
    _check_layout(header, size - 8 - n, path, what)
    return header


def _check_layout(header: dict[str, Any], data_bytes: int, path: Path, what: str) -> None:
    """Every tensor's bytes are in the file and fit its shape; together they cover it."""
    end = 0
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ModelCorruptError(f"the {what} {path} has damaged metadata")
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, stop) = info["dtype"], info["shape"], info["data_offsets"]
            itemsize = DTYPE_SIZES[dtype]
            count = math.prod(int(d) for d in shape)
            ok = 0 <= start <= stop and stop - start == count * itemsize
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise ModelCorruptError(f"the {what} {path} describes tensor {name!r} "
                                    "inconsistently; the file is damaged")
        if stop > data_bytes:
            raise ModelCorruptError(
                f"the {what} {path} is truncated: tensor {name!r} ends at byte {stop} of the "
                f"data, the file holds {data_bytes}")
        end = max(end, stop)
    if end != data_bytes:
        raise ModelCorruptError(f"the {what} {path} has {data_bytes - end} bytes more than "
                                "its tensors; the file is damaged or was tampered with")


def read_metadata(path: Path, what: str = "weights file") -> dict[str, str]:
    """The `__metadata__` strings of a checked safetensors file (no tensor is read)."""
    meta = read_header(path, what).get("__metadata__", {})
    return dict(meta)
