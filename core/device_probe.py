"""Where torch would run for a device preference, answerable from a child process.

`python -m core.device_probe auto` prints the answer as one JSON line. The desktop app asks
a child while torch is not imported yet (see core.model_status.device_status): importing
torch holds the GIL for long stretches, which would freeze the app's event loop. This
module imports nothing heavy but torch, so the child starts as fast as torch does.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from core.errors import IdfsrError


def device_facts(preference: str) -> dict[str, Any]:
    """{"preference", "kind" (None: unavailable), "name", "problem"} for this preference."""
    import torch

    from core.idfsr.device import select_device  # heavy: torch

    try:
        device = select_device(preference)
    except IdfsrError as exc:
        return {"preference": preference, "kind": None, "name": "unavailable",
                "problem": str(exc)}
    if device.type == "cuda":
        name = f"{torch.cuda.get_device_name(device)} (CUDA)"
    elif device.type == "mps":
        name = "Apple GPU (Metal)"
    else:
        # The machine's cores, not torch's current thread setting: the same answer from
        # this process or a fresh child, whatever an earlier job set its threads to.
        name = f"CPU ({os.cpu_count() or 1} cores)"
    return {"preference": preference, "kind": device.type, "name": name, "problem": None}


if __name__ == "__main__":
    print(json.dumps(device_facts(sys.argv[1] if len(sys.argv) > 1 else "auto")))
