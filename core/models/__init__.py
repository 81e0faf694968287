"""Model files: locating, verifying, loading once, and the ONNX runtime setup."""
