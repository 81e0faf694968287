"""onnxruntime's own telemetry stays off: no device id, no event cache, in any home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import core.faces.retinaface as r  # noqa: F401  (imports onnxruntime through core)
import onnxruntime as ort
from onnx import TensorProto, helper
node = helper.make_node("Relu", ["x"], ["y"])
graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
import numpy as np
print(sess.run(None, {"x": np.array([-1.0], np.float32)})[0])
"""


def test_onnxruntime_writes_nothing_outside_the_app(tmp_path: Path) -> None:
    fake_home = tmp_path / "user"
    fake_home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env.update(HOME=str(fake_home), XDG_CACHE_HOME=str(fake_home / ".cache"))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[2], check=True)
    assert "[0.]" in out.stdout
    written = [p.relative_to(fake_home) for p in fake_home.rglob("*")]
    assert written == [], f"onnxruntime wrote {written}"
