"""The whole training of a restorer on a rented GPU machine, in one command.

    python -m core.idfsr.gpu_job --pack faces.npz --config gpu-128r --minutes 8 \\
        --work /tmp/run --export OUT/model

Unpacks a dataset pack (`idfsr data pack`), trains for the given wall time with the
schedule planned to end on time (`train_for`), and exports the EMA weights in 16-bit
floats. It imports the trainer alone (no database, no Qt, no face detector), so a bare
machine with PyTorch needs only this checkout and a few wheels.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import torch

from core.idfsr.config import load_train_config
from core.idfsr.pack import unpack_dataset
from core.idfsr.train import describe, export_checkpoint, train_for
from core.jobs import Progress


def _say(p: Progress) -> None:
    print(f"{p.stage}: {p.done}/{p.total} {p.message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.idfsr.gpu_job", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", type=Path, required=True)
    ap.add_argument("--config", default="gpu-128r")
    ap.add_argument("--minutes", type=float, required=True,
                    help="wall time for the whole job, unpacking and export included")
    ap.add_argument("--work", type=Path, required=True, help="scratch folder")
    ap.add_argument("--export", type=Path, required=True, help="where the model goes")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)
    started = time.monotonic()
    cv2.setNumThreads(1)  # the loader's workers each decode on one core
    cfg = load_train_config(args.config)
    updates = {k: v for k, v in (("batch_size", args.batch_size),
                                 ("num_workers", args.workers)) if v is not None}
    cfg = cfg.model_validate({**cfg.model_dump(), **updates})
    print(json.dumps({"cuda": torch.cuda.is_available(), "torch": torch.__version__,
                      "device": torch.cuda.get_device_name() if torch.cuda.is_available()
                      else "cpu", "batch_size": cfg.batch_size}), flush=True)
    data_dir = args.work / "data"
    unpack_dataset(args.pack, data_dir, progress=_say)
    export_reserve = 20.0
    seconds = args.minutes * 60 - (time.monotonic() - started) - export_reserve
    report = train_for(cfg, data_dir, args.work / "run", seconds, progress=_say)
    model = export_checkpoint(cfg, data_dir, args.work / "run", args.export, half=True)
    print(json.dumps({**describe(report), "exported": str(model),
                      "job_seconds": round(time.monotonic() - started, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
