"""Model folders: save/load the network with its scheduler config and model card; no pickles.

A model folder holds `config.json` + `diffusion_pytorch_model.safetensors` (the
network, diffusers style), `scheduler/scheduler_config.json` (the trained noise
schedule), `training.json` (what it was trained on, how long) and `README.md` (the
model card). The sha256 of the weights file identifies the model: every fitted
identity records it, and `diffusion_pytorch_model.safetensors.sha256` (sha256sum's
format) records it next to the weights, so a damaged or altered file is refused.
Loading checks the file is a whole safetensors file first: a pickle under that name is
never opened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
from safetensors import SafetensorError

from core.errors import ModelCorruptError, ModelMissingError
from core.fsutil import sha256_file
from core.idfsr.network import IdfsrNet, count_parameters
from core.idfsr.restorer_net import RestorerNet
from core.models.base import InferenceModel
from core.models.safetensors_file import read_header
from core.paths import AppPaths
from core.resources import resources_root

WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
CHECKSUM_NAME = f"{WEIGHTS_NAME}.sha256"
DEFAULT_MODEL = "idfsr-default"


@dataclass
class LoadedModel:
    """A network ready for sampling or fitting, with its schedule and identity."""

    net: IdfsrNet | RestorerNet
    scheduler_config: dict[str, Any]  # empty for a restorer
    path: Path
    sha256: str
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """The aligned-face side the network works at."""
        return int(self.net.config.sample_size)

    @property
    def is_restorer(self) -> bool:
        """Whether the network restores in one pass (no sampling, no noise schedule)."""
        return isinstance(self.net, RestorerNet)


def save_model(
    net: IdfsrNet | RestorerNet,
    scheduler: DDPMScheduler | None,
    folder: Path,
    training: dict[str, Any] | None = None,
) -> str:
    """Write a complete model folder (weights, configs, model card); returns the weights' sha256.

    A restorer has no noise schedule: pass None."""
    folder.mkdir(parents=True, exist_ok=True)
    net.save_pretrained(folder, safe_serialization=True)
    if scheduler is not None and not isinstance(net, RestorerNet):
        scheduler.save_pretrained(folder / "scheduler")
    info = dict(training or {})
    (folder / "training.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    digest = sha256_file(folder / WEIGHTS_NAME)
    (folder / CHECKSUM_NAME).write_text(f"{digest}  {WEIGHTS_NAME}\n", encoding="utf-8")
    (folder / "README.md").write_text(model_card(net, info, digest), encoding="utf-8")
    return digest


def _recorded_sha256(folder: Path) -> str | None:
    """The checksum saved next to the weights (None for folders from before it existed)."""
    path = folder / CHECKSUM_NAME
    if not path.is_file():
        return None
    words = path.read_text("utf-8", errors="replace").split()
    return words[0].lower() if words else ""


def verify_weights(folder: Path, expect_sha256: str | None = None) -> str:
    """Check a model folder's weights file (whole safetensors, recorded checksum, and the
    expected one if given) without loading it; return its sha256."""
    weights = folder / WEIGHTS_NAME
    read_header(weights, "IDFSR model weights")
    digest = sha256_file(weights)
    recorded = _recorded_sha256(folder)
    if recorded is not None and digest != recorded:
        raise ModelCorruptError(
            f"the IDFSR model weights in {folder} do not match the checksum recorded with "
            f"them in {CHECKSUM_NAME} (got {digest[:12]}…, recorded {recorded[:12]}…): the "
            "file is damaged or was changed; refused. Reinstall or retrain the model")
    if expect_sha256 is not None and digest != expect_sha256.lower():
        raise ModelCorruptError(
            f"the IDFSR model in {folder} is not the one expected: its weights' sha256 is "
            f"{digest[:12]}…, expected {expect_sha256[:12]}…; refused")
    return digest


def load_model(folder: Path, device: torch.device | str = "cpu", *,
               expect_sha256: str | None = None) -> LoadedModel:
    """Load a model folder written by save_model (safetensors only), verified first:
    ModelCorruptError for a damaged, altered or unexpected (`expect_sha256`) model."""
    folder = Path(folder)
    weights = folder / WEIGHTS_NAME
    if not weights.is_file() or not (folder / "config.json").is_file():
        raise ModelMissingError("idfsr", f"no IDFSR model in {folder} (expected config.json "
                                f"and {WEIGHTS_NAME}); train one with `idfsr train`")
    digest = verify_weights(folder, expect_sha256)
    try:
        kind = json.loads((folder / "config.json").read_text("utf-8")).get("_class_name")
        cls = RestorerNet if kind == RestorerNet.__name__ else IdfsrNet
        # Weights may be stored in 16 bits (half the download); they compute in 32.
        net = cls.from_pretrained(folder, use_safetensors=True, low_cpu_mem_usage=False,
                                  torch_dtype=torch.float32)
        sched = ({} if cls is RestorerNet
                 else dict(DDPMScheduler.load_config(folder / "scheduler")))
        training_file = folder / "training.json"
        training = (json.loads(training_file.read_text("utf-8")) if training_file.is_file()
                    else {})
    except (OSError, ValueError, RuntimeError, TypeError, SafetensorError) as exc:
        raise ModelCorruptError(f"the IDFSR model in {folder} cannot be loaded: {exc}") from exc
    if isinstance(net, IdfsrNet) and sched.get("prediction_type") != net.config.prediction_type:
        raise ModelCorruptError(f"{folder}: the scheduler and the network disagree on the "
                                "prediction type")
    net.eval().requires_grad_(False)
    return LoadedModel(net.to(device), dict(sched), folder, digest, training)


def model_card(net: IdfsrNet | RestorerNet, info: dict[str, Any], digest: str) -> str:
    """The README.md of a model folder: what the model is, what it was trained on, its licence."""
    c = net.config
    data = info.get("data", {})
    licence = data.get("licence") or "unknown: check the licence of the training photos"
    if isinstance(net, RestorerNet):
        what = ["Personalised face super-resolution (IDFSR, arXiv 2508.10937): a conditional UNet",
                "that restores an aligned face in one pass from its masked low-resolution version,",
                "a reference photo warped onto it and an identity embedding."]
        shape = [f"- blocks: {list(c.block_out_channels)} on a half-size grid, layers "
                 f"{list(c.layers_per_block)}, cross-attention: {list(c.attention_levels)}",
                 f"- identity: {c.id_dim}-d embeddings of `{c.id_model_id or 'unknown'}`, "
                 f"{c.id_tokens} tokens + FiLM"]
    else:
        what = ["Personalised face super-resolution (IDFSR, arXiv 2508.10937): a conditional "
                "diffusion", "UNet that restores an aligned face from its masked low-resolution "
                "version, a warped", "reference photo and an identity embedding."]
        shape = [f"- blocks: {list(c.block_out_channels)}, attention: {list(c.attention_levels)}",
                 f"- identity: {c.id_dim}-d embeddings of `{c.id_model_id or 'unknown'}`, "
                 f"{c.id_tokens} tokens + AdaGN",
                 f"- prediction: {c.prediction_type}"]
    lines = [
        f"# IDFSR face restoration model ({info.get('config_name', 'custom')})",
        "",
        *what,
        "",
        "## Model",
        f"- resolution: {c.sample_size} x {c.sample_size} canonical aligned crop",
        f"- parameters: {count_parameters(net):,}",
        *shape,
        f"- weights sha256: `{digest}`",
        "",
        "## Training",
        f"- steps: {info.get('steps', 'unknown')}, batch {info.get('batch_size', '?')} "
        f"x {info.get('num_processes', 1)} process(es), mixed precision "
        f"{info.get('mixed_precision', '?')}",
        f"- final loss (mean of the last 50 steps): {info.get('final_loss', 'unknown')}",
        f"- data: {data.get('source', 'unknown')} ({data.get('faces', '?')} faces, "
        f"{data.get('identities', '?')} labelled identities)",
        f"- trained: {info.get('finished_at', 'unknown')}",
        "",
        "## Licence",
        f"The weights inherit the terms of their training data: **{licence}**.",
        "",
    ]
    return "\n".join(lines)


def model_search_path(paths: AppPaths, name: str = DEFAULT_MODEL) -> list[Path]:
    """Where a model of this name is looked for: the app's models folder, then the bundle."""
    return [paths.models / "idfsr" / name, resources_root() / "models" / name]


class IdfsrModel(InferenceModel[LoadedModel]):
    """The IDFSR network under the one model-wrapper contract (locate, load once, unload)."""

    name = "IDFSR restoration model"

    def __init__(self, paths: AppPaths, model: str = DEFAULT_MODEL,
                 device: torch.device | str = "cpu") -> None:
        super().__init__()
        self.paths, self.model, self.device = paths, model, device

    def _locate(self) -> Path:
        given = Path(self.model)
        candidates = [given] if given.is_dir() else model_search_path(self.paths, self.model)
        for folder in candidates:
            if (folder / WEIGHTS_NAME).is_file():
                return folder
        raise ModelMissingError(
            "idfsr", f"the IDFSR model {self.model!r} is not installed (looked in "
            f"{', '.join(str(p) for p in candidates)}); train it with `idfsr train`"
        )

    def _load(self, path: Path) -> LoadedModel:
        return load_model(path, self.device)
