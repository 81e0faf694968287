"""Reading a TensorFlow.js graph model from disk: its graph and its weights, no TensorFlow.

A TF.js graph model is a JSON file (`modelTopology`: the frozen GraphDef as JSON;
`weightsManifest`: groups of weights, each group stored in one or more `.bin` shards
next to the JSON) plus those shards. Within a group the shards are one byte stream cut
into pieces, and the weights follow each other in manifest order, each taking
`prod(shape) * itemsize` bytes of its stored dtype. A weight may be stored quantised
(`quantization`: uint8/uint16 with an affine `scale` and `min`, or float16) and is
restored to its declared dtype here, the way TF.js itself restores it.

Only the development-time converters read these files (the product ships safetensors);
they use the graph to check that a hand-written torch module matches it op for op.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

AttrValue = Any  # str | int | float | bool | tuple[int, ...] | list[...] | dict (raw tensor)

# Stored dtype -> numpy dtype (little-endian, as TF.js writes them).
_DTYPES: dict[str, str] = {
    "float32": "<f4",
    "int32": "<i4",
    "bool": "|u1",
    "uint8": "|u1",
    "uint16": "<u2",
    "float16": "<f2",
}


class TfjsFormatError(ValueError):
    """The files are not a TF.js graph model this reader understands."""


@dataclass(frozen=True)
class GraphNode:
    """One node of the graph: its op, its inputs (as written) and its decoded attributes."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attrs: Mapping[str, AttrValue] = field(default_factory=dict)

    @property
    def data_inputs(self) -> tuple[str, ...]:
        """Input node names without control inputs (`^name`) and output indices (`:1`)."""
        return tuple(_node_name(i) for i in self.inputs if not i.startswith("^"))

    def attr(self, key: str, default: AttrValue = None) -> AttrValue:
        return self.attrs.get(key, default)


@dataclass(frozen=True)
class TfjsGraphModel:
    """A parsed TF.js graph model: nodes in file order and weights by name."""

    path: Path
    nodes: Mapping[str, GraphNode]
    weights: Mapping[str, NDArray[Any]]
    signature: Mapping[str, Any]
    converted_by: str | None = None

    def node(self, name: str) -> GraphNode:
        """The node of this name; KeyError naming the model if it has none."""
        try:
            return self.nodes[name]
        except KeyError:
            raise KeyError(f"{self.path.name} has no node {name!r}") from None

    def weight(self, name: str) -> NDArray[Any]:
        """The weight of this name; KeyError naming the model if it has none."""
        try:
            return self.weights[name]
        except KeyError:
            raise KeyError(f"{self.path.name} has no weight {name!r}") from None

    def by_op(self, op: str) -> list[GraphNode]:
        """Every node running `op`, in file order."""
        return [n for n in self.nodes.values() if n.op == op]

    def consumers(self, name: str) -> list[GraphNode]:
        """The nodes that take `name`'s output as a data input."""
        return [n for n in self.nodes.values() if name in n.data_inputs]

    def __iter__(self) -> Iterator[GraphNode]:
        return iter(self.nodes.values())


def _node_name(ref: str) -> str:
    return ref.lstrip("^").split(":", 1)[0]


def _decode_bytes(raw: str) -> str:
    data = base64.b64decode(raw)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # an opaque byte string: keep it readable, not lossy
        return data.hex()


def _decode_shape(shape: Mapping[str, Any]) -> tuple[int, ...] | None:
    if shape.get("unknownRank"):
        return None
    return tuple(int(d.get("size", -1)) for d in shape.get("dim", []))


def decode_attr(value: Mapping[str, Any]) -> AttrValue:
    """A TF AttrValue as protobuf JSON writes it -> a plain Python value.

    Strings are base64 in the JSON (`s`), 64-bit integers are strings (`i`); lists come
    under `list` with one of those keys. Tensors are returned as their raw JSON dict.
    """
    if "list" in value:
        items = value["list"]
        for key in ("s", "i", "f", "b", "type", "shape"):
            if key in items:
                return [decode_attr({key: v}) for v in items[key]]
        return []
    if "s" in value:
        return _decode_bytes(value["s"])
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "type" in value:
        return str(value["type"])
    if "shape" in value:
        return _decode_shape(value["shape"])
    if "tensor" in value:
        return dict(value["tensor"])
    return dict(value)


def parse_node(raw: Mapping[str, Any]) -> GraphNode:
    """One `modelTopology.node` entry -> GraphNode."""
    attrs = {k: decode_attr(v) for k, v in raw.get("attr", {}).items()}
    return GraphNode(str(raw["name"]), str(raw["op"]), tuple(raw.get("input", [])), attrs)


def _restore(spec: Mapping[str, Any], data: bytes) -> NDArray[Any]:
    """One weight's bytes -> an array of its declared dtype and shape."""
    name, dtype = spec["name"], spec["dtype"]
    shape = tuple(int(d) for d in spec["shape"])
    quant = spec.get("quantization")
    stored = quant["dtype"] if quant else dtype
    if stored not in _DTYPES or dtype not in _DTYPES:
        raise TfjsFormatError(f"weight {name!r}: unsupported dtype {stored!r} -> {dtype!r}")
    raw = np.frombuffer(data, dtype=_DTYPES[stored])
    if not quant:  # native byte order, and a copy: frombuffer's array is read-only
        native = raw.dtype.newbyteorder("=")
        values = raw.astype(np.bool_) if dtype == "bool" else raw.astype(native)
    elif stored == "float16":
        if dtype != "float32":
            raise TfjsFormatError(f"weight {name!r}: float16 storage of {dtype} is not defined")
        values = raw.astype(np.float32)
    else:  # affine integer quantisation: q * scale + min, computed in float32 as TF.js does
        if "scale" not in quant or "min" not in quant:
            raise TfjsFormatError(f"weight {name!r}: {stored} quantisation without scale/min")
        scaled = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
        if dtype == "float32":
            values = scaled
        elif dtype == "int32":
            values = np.round(scaled).astype(np.int32)
        else:
            raise TfjsFormatError(f"weight {name!r}: {stored} quantisation of {dtype}")
    return np.asarray(values).reshape(shape)


def _stored_bytes(spec: Mapping[str, Any]) -> int:
    quant = spec.get("quantization")
    stored = quant["dtype"] if quant else spec["dtype"]
    if stored not in _DTYPES:
        raise TfjsFormatError(f"weight {spec['name']!r}: unsupported dtype {stored!r}")
    count = math.prod(int(d) for d in spec["shape"])
    return count * np.dtype(_DTYPES[stored]).itemsize


def read_weights(manifest: list[Mapping[str, Any]], folder: Path) -> dict[str, NDArray[Any]]:
    """Every weight of a `weightsManifest`, its shards read from `folder`."""
    weights: dict[str, NDArray[Any]] = {}
    for group in manifest:
        parts = []
        for rel in group["paths"]:
            shard = folder / rel
            if not shard.is_file():
                raise TfjsFormatError(f"weights shard {shard} is missing")
            parts.append(shard.read_bytes())
        buffer = b"".join(parts)
        offset = 0
        for spec in group["weights"]:
            size = _stored_bytes(spec)
            if offset + size > len(buffer):
                raise TfjsFormatError(
                    f"weight {spec['name']!r} runs past the end of its shards "
                    f"({offset + size} > {len(buffer)} bytes)")
            weights[spec["name"]] = _restore(spec, buffer[offset : offset + size])
            offset += size
        if offset != len(buffer):
            raise TfjsFormatError(f"shards {group['paths']} hold {len(buffer) - offset} bytes "
                                  "that no weight of the manifest accounts for")
    return weights


def read_graph_model(path: Path) -> TfjsGraphModel:
    """Parse a TF.js graph model: `path` is its model JSON (shards are found beside it)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TfjsFormatError(f"{path} is not a readable model JSON: {exc}") from exc
    if doc.get("format") not in (None, "graph-model") or "modelTopology" not in doc:
        raise TfjsFormatError(f"{path} is not a TF.js graph model (format {doc.get('format')!r})")
    topology = doc["modelTopology"]
    nodes = {n.name: n for n in map(parse_node, topology.get("node", []))}
    weights = read_weights(doc.get("weightsManifest", []), path.parent)
    signature = doc.get("signature") or doc.get("userDefinedMetadata", {}).get("signature", {})
    return TfjsGraphModel(path, nodes, weights, signature, doc.get("convertedBy"))
