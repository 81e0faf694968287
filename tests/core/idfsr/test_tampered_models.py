"""Malformed or tampered model and identity files are refused with a clear message and are
never executed: wrong hash, cut at many offsets, padded, bytes flipped, pickles renamed
`.safetensors` (whose unpickling would create a marker folder)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from idfsr_support import tiny_net

from core.errors import IdfsrError, ModelCorruptError
from core.idfsr.checkpoint import CHECKSUM_NAME, WEIGHTS_NAME, load_model, save_model
from core.idfsr.config import DiffusionConfig
from core.idfsr.diffusion import training_scheduler
from core.idfsr.identity import load_identity, save_identity
from core.models.safetensors_file import read_header


class Payload:
    """Unpickling this creates a folder: proof that a pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.makedirs, (self.marker,))


def pickles(marker: Path) -> dict[str, bytes]:
    """Hostile files in every pickle flavour: plain (protocols 2-5) and torch.save's zip."""
    out = {f"pickle-p{p}": pickle.dumps({"w": Payload(marker)}, protocol=p) for p in (2, 3, 4, 5)}
    tmp = marker.parent / "torch-save.bin"
    torch.save({"state_dict": Payload(marker)}, tmp)
    out["torch-save"] = tmp.read_bytes()
    return out


def cuts(data: bytes) -> dict[str, bytes]:
    """The file cut at offsets through the length prefix, the header and the tensor data."""
    header_end = 8 + int.from_bytes(data[:8], "little")
    offsets = {0, 3, 8, 20, header_end - 1, header_end, header_end + 7, len(data) // 2,
               len(data) - 1}
    return {f"cut-at-{n}": data[:n] for n in sorted(offsets)}


def damaged(data: bytes) -> dict[str, bytes]:
    header_end = 8 + int.from_bytes(data[:8], "little")
    bad_header = bytearray(data)
    bad_header[10:14] = b"\x00\xff\x00\xff"
    return {
        **cuts(data),
        "padded": data + b"\x00" * 64,
        "header-not-json": bytes(bad_header),
        "huge-header-length": (1 << 40).to_bytes(8, "little") + data[8:],
        "zeros": bytes(len(data)),
        "text": b"this is not a model\n" * 10,
        "one-tensor-longer": _grow_first_tensor(data, header_end),
    }


def _grow_first_tensor(data: bytes, header_end: int) -> bytes:
    header = json.loads(data[8:header_end])
    name = next(k for k in header if k != "__metadata__")
    header[name]["data_offsets"][1] += 4  # overlaps the next tensor: sizes no longer add up
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data[header_end:]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "good"
    save_model(tiny_net(seed=1), training_scheduler(DiffusionConfig()), folder)
    return folder


def _variant(model_dir: Path, tmp_path: Path, name: str, weights: bytes) -> Path:
    folder = tmp_path / name
    shutil.copytree(model_dir, folder)
    (folder / WEIGHTS_NAME).write_bytes(weights)
    return folder


def test_good_model_loads_and_records_its_checksum(model_dir: Path) -> None:
    loaded = load_model(model_dir)
    recorded = (model_dir / CHECKSUM_NAME).read_text().split()
    assert recorded == [loaded.sha256, WEIGHTS_NAME]
    assert load_model(model_dir, expect_sha256=loaded.sha256).sha256 == loaded.sha256


def test_model_of_the_wrong_hash_is_refused(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelCorruptError, match="not the one expected.*refused"):
        load_model(model_dir, expect_sha256="ab" * 32)
    # Same size, one tensor's bytes changed: only a checksum can tell.
    data = bytearray((model_dir / WEIGHTS_NAME).read_bytes())
    data[-8:] = bytes(8)
    folder = _variant(model_dir, tmp_path, "flipped", bytes(data))
    read_header(folder / WEIGHTS_NAME)  # still a well-formed file
    with pytest.raises(ModelCorruptError, match="do not match the checksum recorded"):
        load_model(folder)


def test_damaged_model_weights_are_refused(model_dir: Path, tmp_path: Path) -> None:
    data = (model_dir / WEIGHTS_NAME).read_bytes()
    tried = damaged(data)
    assert len(tried) >= 14
    for name, weights in tried.items():
        folder = _variant(model_dir, tmp_path, name, weights)
        with pytest.raises(ModelCorruptError) as info:
            load_model(folder)
        message = str(info.value)
        assert "IDFSR model weights" in message and str(folder) in message, (name, message)
        assert any(w in message for w in ("truncated", "damaged", "not a safetensors",
                                          "cut short", "checksum")), (name, message)


def test_pickled_weights_are_never_executed(model_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "EXECUTED"
    for name, weights in pickles(marker).items():
        folder = _variant(model_dir, tmp_path, name, weights)
        # No recorded checksum (as in a folder from before checksums): the format check alone.
        (folder / CHECKSUM_NAME).unlink()
        with pytest.raises(ModelCorruptError, match="pickle.*refused.*never opened"):
            load_model(folder)
        assert not marker.exists(), f"{name} was unpickled"
    pickle.loads(pickles(marker)["pickle-p4"])  # the payload does work when unpickled
    assert marker.is_dir()


@pytest.fixture
def identity(tmp_path: Path) -> Path:
    return save_identity(tmp_path / "grandma.safetensors", np.ones(16, np.float32), [0.5, 0.2],
                         {"person": "Grandma", "base_model_sha256": "ab" * 32})


def test_identity_of_another_model_is_refused(identity: Path) -> None:
    assert load_identity(identity, "ab" * 32).meta["person"] == "Grandma"
    with pytest.raises(IdfsrError, match="fitted on another model"):
        load_identity(identity, "cd" * 32)


def test_damaged_identity_files_are_refused(identity: Path, tmp_path: Path) -> None:
    marker = tmp_path / "EXECUTED"
    variants = {**damaged(identity.read_bytes()), **pickles(marker)}
    for name, data in variants.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(data)
        with pytest.raises(IdfsrError) as info:
            load_identity(path, "ab" * 32)
        assert str(path) in str(info.value), (name, info.value)
    assert not marker.exists()


def test_identity_with_odd_contents_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    def write(name: str, tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> Path:
        path = tmp_path / name
        save_file(tensors, path, metadata=meta)
        return path

    ok = {"id_embedding": torch.ones(16), "loss_curve": torch.zeros(2)}
    fmt = {"format": json.dumps("idfsr-identity/1")}
    with pytest.raises(IdfsrError, match="not an IDFSR identity file"):
        load_identity(write("other.safetensors", ok, {"format": json.dumps("something")}))
    with pytest.raises(IdfsrError, match="not a readable identity file"):
        load_identity(write("meta.safetensors", ok, {**fmt, "person": "{not json"}))
    with pytest.raises(IdfsrError, match="not a readable identity file"):
        load_identity(write("nokey.safetensors", {"loss_curve": torch.zeros(2)}, fmt))
    nan = {**ok, "id_embedding": torch.full((16,), float("nan"))}
    with pytest.raises(IdfsrError, match="damaged identity embedding"):
        load_identity(write("nan.safetensors", nan, fmt))


@pytest.mark.parametrize("header_bytes", [0x280, 0x380, 0x480, 0x580])
def test_a_header_length_that_looks_like_a_pickle_mark_is_fine(tmp_path: Path,
                                                               header_bytes: int) -> None:
    # The little-endian length 0x280 begins with the bytes 0x80 0x02, a pickle's first two.
    from safetensors.torch import load_file

    meta = {"format": json.dumps("idfsr-identity/1")}
    header = {"id_embedding": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
              "loss_curve": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
              "__metadata__": meta}
    text = json.dumps(header, separators=(",", ":")).encode()
    path = tmp_path / "person-1.safetensors"
    path.write_bytes(header_bytes.to_bytes(8, "little") + text.ljust(header_bytes)
                     + np.ones(2, np.float32).tobytes())
    assert load_file(path)["id_embedding"].tolist() == [1.0]  # a valid file by the format
    assert read_header(path, "identity file")["__metadata__"] == meta
    assert load_identity(path).embedding.tolist() == [1.0]
