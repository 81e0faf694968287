"""The one file checksum every part of the app uses (models, restore notes, the index)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.fsutil import sha256_file


def test_sha256_of_a_file_larger_than_one_read(tmp_path: Path) -> None:
    data = bytes(range(256)) * 20_000 + b"tail"  # ~5 MB: several chunks, and a short last one
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_sha256_of_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert sha256_file(path) == hashlib.sha256(b"").hexdigest()


def test_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sha256_file(tmp_path / "nope")
