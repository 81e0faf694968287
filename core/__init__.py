"""IDFSR Desktop engine: headless, never imports Qt."""

import os as _os

# onnxruntime (1.29+) sends usage telemetry from Linux and macOS too, and keeps a device id
# and an event cache under ~/.cache/Microsoft. Nothing leaves this app unless the user asks,
# so it is switched off before any onnxruntime import can initialise it; not a default the
# environment may override.
_os.environ["ORT_DISABLE_TELEMETRY"] = "1"
