"""Tiny ONNX stand-ins for an insightface model pack, built in the test (no download).

Each model is shaped so that insightface's own router classifies it as the real one
would be: a detector with SCRFD's 9-output layout (scores, boxes and 5-point
keypoints for strides 8, 16 and 32, two anchors per cell), a recognizer with a
112x112 input, and a 106-point landmark model and a gender/age model that the
backend must ignore.

The fake detector "sees" a face wherever a bright square fills the 16x16 window
around a stride-8 anchor of its 640x640 input while the 48x48 window around it stays
mostly dark: isolated squares of about 20 to 32 detector pixels. The box it reports
is 32 px wide there, with five landmarks in a face-like layout. The fake recognizer is a fixed
random projection of the pooled crop, so the same crop gives the same embedding.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DET_SIZE = 640
STRIDES = (8, 16, 32)
BOX_HALF = 2.0  # box half-side, in stride units (the decoder multiplies by the stride)
# Five landmarks around the anchor, in stride units: eyes, nose, mouth corners.
KPS = np.array([[-0.8, -0.5], [0.8, -0.5], [0.0, 0.2], [-0.6, 1.0], [0.6, 1.0]], np.float32)
OPSET = [helper.make_opsetid("", 13)]


def _const(name: str, value: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))


def scrfd_model(path: Path, *, dynamic: bool = False) -> Path:
    """A fake SCRFD detector with keypoints (9 outputs), fixed 640x640 or dynamic input."""
    side: int | str = "?" if dynamic else DET_SIZE
    nodes = [
        _const("thr", np.array(0.8, np.float32)),
        _const("dark", np.array(0.25, np.float32)),
        _const("gain", np.array(40.0, np.float32)),
        _const("zero", np.array(0.0, np.float32)),
        _const("off", np.array(-30.0, np.float32)),
        _const("col", np.array([-1, 1], np.int64)),
        _const("box", np.full((1, 4), BOX_HALF, np.float32)),
        _const("kps", KPS.reshape(1, 10)),
        helper.make_node("ReduceMean", ["input.1"], ["gray"], axes=[1], keepdims=1),
    ]
    outputs: dict[str, list[str]] = {"score": [], "bbox": [], "kps": []}
    for s in STRIDES:
        nodes.append(helper.make_node("AveragePool", ["gray"], [f"pool{s}"],
                                      kernel_shape=[2 * s, 2 * s], strides=[s, s],
                                      pads=[s, s, 0, 0]))
        if s == 8:  # only the finest level fires, so the test knows which box wins
            nodes += [
                helper.make_node("AveragePool", ["gray"], ["ring"], kernel_shape=[48, 48],
                                 strides=[8, 8], pads=[24, 24, 16, 16]),
                helper.make_node("Sub", [f"pool{s}", "thr"], ["c_in"]),
                helper.make_node("Mul", ["c_in", "gain"], ["l_in"]),
                helper.make_node("Sigmoid", ["l_in"], ["s_in"]),
                helper.make_node("Sub", ["dark", "ring"], ["c_ring"]),
                helper.make_node("Mul", ["c_ring", "gain"], ["l_ring"]),
                helper.make_node("Sigmoid", ["l_ring"], ["s_ring"]),
                helper.make_node("Mul", ["s_in", "s_ring"], [f"sig{s}"]),
            ]
        else:
            nodes += [helper.make_node("Mul", [f"pool{s}", "zero"], [f"z{s}"]),
                      helper.make_node("Add", [f"z{s}", "off"], [f"l{s}"]),
                      helper.make_node("Sigmoid", [f"l{s}"], [f"sig{s}"])]
        nodes += [
            helper.make_node("Reshape", [f"sig{s}", "col"], [f"cell{s}"]),
            helper.make_node("Concat", [f"cell{s}", f"cell{s}"], [f"pair{s}"], axis=1),
            helper.make_node("Reshape", [f"pair{s}", "col"], [f"score_{s}"]),
            helper.make_node("Mul", [f"score_{s}", "zero"], [f"nil{s}"]),
            helper.make_node("Add", [f"nil{s}", "box"], [f"bbox_{s}"]),
            helper.make_node("Add", [f"nil{s}", "kps"], [f"kps_{s}"]),
        ]
        for kind in outputs:
            outputs[kind].append(f"{kind}_{s}")
    widths = {"score": 1, "bbox": 4, "kps": 10}
    graph_outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, [f"n{name}", widths[kind]])
        for kind in ("score", "bbox", "kps") for name in outputs[kind]
    ]
    graph = helper.make_graph(
        nodes, "fake_scrfd",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, side, side])],
        graph_outputs,
    )
    return _save(helper.make_model(graph, opset_imports=OPSET), path)


def _projection(path: Path, name: str, side: int, pool: int, dim: int, seed: int,
                batch: int | str) -> Path:
    cells = 3 * (side // pool) ** 2
    weights = np.random.default_rng(seed).standard_normal((cells, dim)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("AveragePool", ["data"], ["pooled"], kernel_shape=[pool, pool],
                             strides=[pool, pool]),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["out"]),
        ],
        name,
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [batch, 3, side, side])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [batch, dim])],
        initializer=[numpy_helper.from_array(weights, "w")],
    )
    return _save(helper.make_model(graph, opset_imports=OPSET), path)


def arcface_model(path: Path, *, dim: int = 64, seed: int = 0, batch: int | str = "None") -> Path:
    """A fake recognizer: 112x112 input, dynamic batch (or a fixed one), `dim` outputs."""
    return _projection(path, "fake_arcface", 112, 8, dim, seed, batch)


def landmark_model(path: Path) -> Path:
    """A fake 106-point landmark model (192x192 input), which the backend must ignore."""
    return _projection(path, "fake_2d106", 192, 32, 212, 1, 1)


def genderage_model(path: Path) -> Path:
    """A fake gender/age model (96x96 input), which the backend must ignore."""
    return _projection(path, "fake_genderage", 96, 16, 3, 2, 1)


def _save(model: onnx.ModelProto, path: Path) -> Path:
    model.ir_version = 8  # readable by every onnxruntime we support
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


PACK_FILES = ("det_10g.onnx", "w600k_r50.onnx", "2d106det.onnx", "genderage.onnx")


def write_pack(folder: Path, *, dynamic: bool = False, dim: int = 64, seed: int = 0) -> Path:
    """A fake buffalo_l-like pack folder: detector, recognizer and two ignored models."""
    scrfd_model(folder / "det_10g.onnx", dynamic=dynamic)
    arcface_model(folder / "w600k_r50.onnx", dim=dim, seed=seed)
    landmark_model(folder / "2d106det.onnx")
    genderage_model(folder / "genderage.onnx")
    return folder


def pack_zip(folder: Path, *, prefix: str = "") -> bytes:
    """The pack folder as zip bytes, members under `prefix` (e.g. "antelopev2/")."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.glob("*.onnx")):
            zf.write(path, prefix + path.name)
    return buf.getvalue()


def squares_image(width: int, height: int,
                  squares: list[tuple[int, int, int]]) -> np.ndarray:
    """A dark RGB photo with white squares (x, y, side): the fake detector's faces."""
    image = np.full((height, width, 3), 20, np.uint8)
    for x, y, side in squares:
        image[y:y + side, x:x + side] = 255
    return image
