"""The TF.js graph-model reader on small hand-made models: graph, attributes, every weight dtype."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.faces.tfjs_weights import TfjsFormatError, decode_attr, read_graph_model


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


NODES = [
    {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}, "shape": {
        "shape": {"dim": [{"size": "-1"}, {"size": "4"}, {"size": "4"}, {"size": "3"}]}}}},
    {"name": "w", "op": "Const"},
    {"name": "b", "op": "Const"},
    {"name": "conv", "op": "_FusedConv2D", "input": ["x", "w", "b", "^x"], "attr": {
        "padding": {"s": _b64("SAME")},
        "strides": {"list": {"i": ["1", "2", "2", "1"]}},
        "fused_ops": {"list": {"s": [_b64("BiasAdd"), _b64("Relu")]}},
        "epsilon": {"f": 0.001},
        "use_cudnn_on_gpu": {"b": True},
        "explicit_paddings": {"list": {}}}},
    {"name": "out", "op": "Identity", "input": ["conv:0"]},
]


def _write_model(folder: Path, weights: list[tuple[dict[str, Any], bytes]],
                 shards: int = 2, extra: bytes = b"") -> Path:
    """A model JSON plus its weights, the byte stream cut into `shards` files."""
    data = b"".join(raw for _, raw in weights) + extra
    cut = len(data) // shards
    paths = []
    for k in range(shards):
        name = f"group1-shard{k + 1}of{shards}.bin"
        (folder / name).write_bytes(data[k * cut: None if k == shards - 1 else (k + 1) * cut])
        paths.append(name)
    doc = {"format": "graph-model", "convertedBy": "test",
           "modelTopology": {"node": NODES},
           "weightsManifest": [{"paths": paths, "weights": [spec for spec, _ in weights]}]}
    path = folder / "model.json"
    path.write_text(json.dumps(doc))
    return path


def _every_dtype() -> list[tuple[dict[str, Any], bytes]]:
    f32 = np.arange(6, dtype="<f4").reshape(2, 3) - 2.5
    q8 = np.array([0, 1, 255], dtype=np.uint8)
    q16 = np.array([0, 2, 65535], dtype="<u2")
    f16 = np.array([0.5, -1.25, 3.0], dtype="<f2")
    i32 = np.array([7, -3], dtype="<i4")
    return [
        ({"name": "w", "shape": [2, 3], "dtype": "float32"}, f32.tobytes()),
        ({"name": "b", "shape": [3], "dtype": "float32",
          "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}}, q8.tobytes()),
        ({"name": "q16", "shape": [3], "dtype": "float32",
          "quantization": {"dtype": "uint16", "scale": 0.25, "min": 1.0}}, q16.tobytes()),
        ({"name": "half", "shape": [3], "dtype": "float32",
          "quantization": {"dtype": "float16", "original_dtype": "float32"}}, f16.tobytes()),
        ({"name": "ints", "shape": [2], "dtype": "int32"}, i32.tobytes()),
        ({"name": "qint", "shape": [2], "dtype": "int32",
          "quantization": {"dtype": "uint8", "scale": 0.4, "min": 0.0}},
         np.array([3, 4], np.uint8).tobytes()),
        ({"name": "flags", "shape": [3], "dtype": "bool"}, bytes([1, 0, 1])),
        ({"name": "scalar", "shape": [], "dtype": "float32"}, np.float32(1e-10).tobytes()),
    ]


def test_every_weight_dtype_is_restored_as_tfjs_does(tmp_path: Path) -> None:
    model = read_graph_model(_write_model(tmp_path, _every_dtype(), shards=3))
    w = model.weights
    np.testing.assert_array_equal(w["w"], np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5)
    assert w["w"].dtype == np.float32 and w["w"].flags.writeable
    np.testing.assert_allclose(w["b"], [-1.0, -0.5, 126.5])  # q * scale + min
    np.testing.assert_allclose(w["q16"], [1.0, 1.5, 16384.75])
    np.testing.assert_array_equal(w["half"], np.array([0.5, -1.25, 3.0], np.float32))
    assert w["half"].dtype == np.float32
    np.testing.assert_array_equal(w["ints"], [7, -3])
    np.testing.assert_array_equal(w["qint"], [1, 2])  # rounded: 1.2 -> 1, 1.6 -> 2
    assert w["qint"].dtype == np.int32
    np.testing.assert_array_equal(w["flags"], [True, False, True])
    assert w["scalar"].shape == () and float(w["scalar"]) == np.float32(1e-10)


def test_graph_nodes_and_attributes_are_decoded(tmp_path: Path) -> None:
    model = read_graph_model(_write_model(tmp_path, _every_dtype()))
    assert list(model.nodes) == ["x", "w", "b", "conv", "out"]
    conv = model.node("conv")
    assert conv.op == "_FusedConv2D"
    assert conv.data_inputs == ("x", "w", "b")  # the control input is not data
    assert conv.attr("padding") == "SAME"
    assert conv.attr("strides") == [1, 2, 2, 1]
    assert conv.attr("fused_ops") == ["BiasAdd", "Relu"]
    assert conv.attr("epsilon") == pytest.approx(0.001)
    assert conv.attr("use_cudnn_on_gpu") is True
    assert conv.attr("explicit_paddings") == []
    assert conv.attr("missing", "default") == "default"
    assert model.node("x").attr("shape") == (-1, 4, 4, 3)
    assert model.node("x").attr("dtype") == "DT_FLOAT"
    assert [n.name for n in model.consumers("conv")] == ["out"]  # "conv:0" counts
    assert [n.name for n in model.consumers("x")] == ["conv"]
    assert [n.name for n in model.by_op("Const")] == ["w", "b"]
    assert model.converted_by == "test"
    with pytest.raises(KeyError, match="no node 'nope'"):
        model.node("nope")
    with pytest.raises(KeyError, match="no weight 'nope'"):
        model.weight("nope")


def test_decode_attr_handles_shapes_and_tensors() -> None:
    assert decode_attr({"shape": {"unknownRank": True}}) is None
    assert decode_attr({"list": {"f": [0.5, 1.0]}}) == [0.5, 1.0]
    assert decode_attr({"list": {"type": ["DT_FLOAT", "DT_INT32"]}}) == ["DT_FLOAT", "DT_INT32"]
    assert decode_attr({"tensor": {"dtype": "DT_INT32"}}) == {"dtype": "DT_INT32"}
    assert decode_attr({"s": base64.b64encode(b"\xff\x00").decode()}) == "ff00"


def test_damaged_models_are_refused_with_the_reason(tmp_path: Path) -> None:
    weights = _every_dtype()
    (tmp_path / "short").mkdir()
    path = _write_model(tmp_path / "short", weights)
    shard = tmp_path / "short" / "group1-shard2of2.bin"
    shard.write_bytes(shard.read_bytes()[:-4])
    with pytest.raises(TfjsFormatError, match="runs past the end"):
        read_graph_model(path)

    (tmp_path / "long").mkdir()
    with pytest.raises(TfjsFormatError, match="no weight of the manifest accounts for"):
        read_graph_model(_write_model(tmp_path / "long", weights, extra=b"\0" * 8))

    (tmp_path / "gone").mkdir()
    path = _write_model(tmp_path / "gone", weights)
    (tmp_path / "gone" / "group1-shard1of2.bin").unlink()
    with pytest.raises(TfjsFormatError, match="missing"):
        read_graph_model(path)

    (tmp_path / "odd").mkdir()
    odd = [({"name": "s", "shape": [1], "dtype": "complex64"}, b"\0" * 8)]
    with pytest.raises(TfjsFormatError, match="unsupported dtype"):
        read_graph_model(_write_model(tmp_path / "odd", odd, shards=1))

    layers = tmp_path / "layers.json"
    layers.write_text(json.dumps({"format": "layers-model", "modelTopology": {}}))
    with pytest.raises(TfjsFormatError, match="not a TF.js graph model"):
        read_graph_model(layers)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(TfjsFormatError, match="not a readable model JSON"):
        read_graph_model(broken)
