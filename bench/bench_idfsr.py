"""Benchmark the IDFSR network: speed per built-in config, and restoration quality.

Speed (default): random data (speed does not depend on content): one AdamW step at the
config's batch (fp32, and bf16 autocast where asked), and one restoration of one face
with 25 DDIM steps, identity guidance on (batch 2 per step) and one candidate. Prints
JSON lines.

    .venv/bin/python bench/bench_idfsr.py [--configs cpu-64 cpu-128] [--threads 2] [--bf16]

Quality (`--quality`): a trained model on held-out people (bench/idfsr_heldout.txt:
LFW people kept out of the bundled model's training), see bench/idfsr_quality.py.

    .venv/bin/python bench/bench_idfsr.py --quality --model M --heldout-data D [--judge J]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from core.faces.align import canonical_template  # noqa: E402
from core.idfsr.checkpoint import LoadedModel  # noqa: E402
from core.idfsr.config import load_train_config  # noqa: E402
from core.idfsr.dataset import Recognizer  # noqa: E402
from core.idfsr.diffusion import training_scheduler  # noqa: E402
from core.idfsr.network import count_parameters  # noqa: E402
from core.idfsr.sample import FaceInput, SampleOptions, restore_face  # noqa: E402
from core.idfsr.train import build_network  # noqa: E402


def train_step_seconds(name: str, steps: int, bf16: bool) -> float:
    """Median seconds of one optimizer step (after one warm-up step)."""
    cfg = load_train_config(name)
    torch.manual_seed(0)
    net = build_network(cfg, Recognizer("bench", "bench", 128))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    b, s = cfg.batch_size, cfg.size
    x, c = torch.randn(b, 3, s, s), torch.randn(b, 7, s, s)
    ids, t = torch.randn(b, 128), torch.randint(0, 1000, (b,))
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(x, t, c, ids, torch.zeros(b, dtype=torch.bool))
        ((out.float() - x) ** 2).mean().backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))


def sample_seconds(name: str, steps: int) -> float:
    """Seconds to restore one face (one candidate, identity guidance on)."""
    cfg = load_train_config(name)
    net = build_network(cfg, Recognizer("bench", "bench", 128)).eval()
    model = LoadedModel(net, dict(training_scheduler(cfg.diffusion).config), Path("."), "")
    s = cfg.size
    rng = np.random.default_rng(0)
    face = FaceInput(rng.integers(0, 255, (s, s, 3), dtype=np.uint8), s // 8,
                     canonical_template(s), rng.integers(0, 255, (s, s, 3), dtype=np.uint8),
                     canonical_template(s))
    emb = rng.standard_normal(128).astype(np.float32)
    restore_face(model, face, emb, SampleOptions(steps=2, candidates=1))  # warm-up
    start = time.perf_counter()
    restore_face(model, face, emb, SampleOptions(steps=steps, candidates=1, guidance=2.0))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", nargs="+", default=["tiny", "cpu-64", "cpu-128", "gpu-128"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-steps", type=int, default=3)
    parser.add_argument("--sample-steps", type=int, default=25)
    parser.add_argument("--bf16", action="store_true", help="Also time bf16 autocast steps.")
    parser.add_argument("--quality", action="store_true",
                        help="Measure restoration quality instead (other options: see "
                             "bench/idfsr_quality.py --help).")
    args, rest = parser.parse_known_args()
    if args.quality:
        from idfsr_quality import main as quality_main

        quality_main(rest + ["--threads", str(args.threads)])
        return
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    torch.set_num_threads(args.threads)
    for name in args.configs:
        cfg = load_train_config(name)
        net = build_network(cfg, Recognizer("bench", "bench", 128))
        row = {"config": name, "size": cfg.size, "batch": cfg.batch_size,
               "parameters": count_parameters(net), "threads": args.threads,
               "load_avg": round(os.getloadavg()[0], 2),
               "train_step_s_fp32": round(train_step_seconds(name, args.train_steps, False), 3)}
        if args.bf16:
            row["train_step_s_bf16"] = round(train_step_seconds(name, args.train_steps, True), 3)
        row[f"sample_s_{args.sample_steps}_steps_cfg"] = round(
            sample_seconds(name, args.sample_steps), 2)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
