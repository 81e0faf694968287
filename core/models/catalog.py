"""The model packs the app can download: where from, how big, which checksum, which licence.

Only insightface's own GitHub release archives are listed. The sizes and sha256 values
are those that several independent public projects pin for these exact release
assets (v0.7 tag); a mirror given with `--url` must serve the same bytes. Nothing here
downloads anything: see core.models.download, which runs only when the user asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ModelMissingError

RELEASE_URL = "https://github.com/deepinsight/insightface/releases/download/v0.7/"

INSIGHTFACE_LICENCE = """\
The insightface model packs (SCRFD detectors, ArcFace recognizers and the other
models in the archive) are published by the InsightFace project for NON-COMMERCIAL
RESEARCH USE ONLY, whether downloaded automatically or by hand. The insightface
library code is MIT-licensed; the pretrained weights are not. Commercial use needs a
separate licence from InsightFace (https://www.insightface.ai). The training data
behind these models has its own terms. By installing a pack you confirm that your
use is non-commercial research, and that you accept these terms."""


@dataclass(frozen=True)
class PackSpec:
    """One downloadable insightface model pack."""

    name: str
    url: str
    size: int | None  # bytes of the archive; None when not known
    sha256: str | None  # of the archive; None when not known (then: integrity + loading)
    detection: str  # the SCRFD file in the archive
    recognition: str  # the ArcFace file in the archive
    files: tuple[str, ...]  # every .onnx file the archive must contain
    licence: str = INSIGHTFACE_LICENCE
    description: str = ""

    @property
    def required(self) -> tuple[str, ...]:
        """The files the face backend needs (the others are kept but never loaded)."""
        return (self.detection, self.recognition)


def _pack(name: str, size: int, sha256: str, detection: str, recognition: str,
          files: tuple[str, ...], description: str) -> PackSpec:
    return PackSpec(name, f"{RELEASE_URL}{name}.zip", size, sha256, detection, recognition,
                    files, description=description)


_LANDMARKS = ("1k3d68.onnx", "2d106det.onnx", "genderage.onnx")

PACKS: dict[str, PackSpec] = {
    spec.name: spec
    for spec in (
        _pack("buffalo_l", 288_621_354,
              "80ffe37d8a5940d59a7384c201a2a38d4741f2f3c51eef46ebb28218a7b0ca2f",
              "det_10g.onnx", "w600k_r50.onnx", ("det_10g.onnx", "w600k_r50.onnx", *_LANDMARKS),
              "SCRFD-10G + ArcFace ResNet-50 (WebFace600K), 512-d; the recommended pack"),
        _pack("antelopev2", 360_662_982,
              "8e182f14fc6e80b3bfa375b33eb6cff7ee05d8ef7633e738d1c89021dcf0c5c5",
              "scrfd_10g_bnkps.onnx", "glintr100.onnx",
              ("scrfd_10g_bnkps.onnx", "glintr100.onnx", *_LANDMARKS),
              "SCRFD-10G + ArcFace ResNet-100 (Glint360K), 512-d; slower, strongest"),
        _pack("buffalo_m", 275_951_529,
              "d98264bd8f2dc75cbc2ddce2a14e636e02bb857b3051c234b737bf3b614edca9",
              "det_2.5g.onnx", "w600k_r50.onnx", ("det_2.5g.onnx", "w600k_r50.onnx"),
              "SCRFD-2.5G + ArcFace ResNet-50 (WebFace600K), 512-d"),
        _pack("buffalo_s", 127_607_557,
              "d85a87f503f691807cd8bb97128bdf7a0660326cd9cd02657127fa978bab8b5e",
              "det_500m.onnx", "w600k_mbf.onnx", ("det_500m.onnx", "w600k_mbf.onnx"),
              "SCRFD-500M + MobileFaceNet (WebFace600K), 512-d; fast on small machines"),
    )
}

DEFAULT_PACK = "buffalo_l"


def pack_spec(name: str) -> PackSpec:
    """The catalog entry for a pack name, or a clear error listing the known ones."""
    spec = PACKS.get(name)
    if spec is None:
        known = ", ".join(sorted(PACKS))
        raise ModelMissingError(name, f"unknown model pack {name!r}; known packs: {known}")
    return spec
