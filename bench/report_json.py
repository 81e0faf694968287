"""How the restoration benches end: an optional thread count, and a JSON report printed
(and written to `--out` if asked)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_report(report: dict[str, Any], out: Path | None, indent: int = 2) -> None:
    """Print the report as JSON, and write it to `out` too when given."""
    text = json.dumps(report, indent=indent)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    print(text)


def run_report(ap: argparse.ArgumentParser,
               evaluate: Callable[[argparse.Namespace], dict[str, Any]],
               argv: list[str] | None) -> None:
    """Add `--threads` and `--out` to a bench's options, then run it and report."""
    import torch  # here, so that a bench using only write_report chooses when torch loads

    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="Also write the JSON here.")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    write_report(evaluate(args), args.out)
