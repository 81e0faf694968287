"""The IDFSR commands end to end on a tiny dataset: train, fit, restore-face."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from idfsr_support import make_faces, unit_rows
from PIL import Image

from core.cli import main


def _run(home: Path, *args: str) -> dict:
    result = CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_train_fit_restore(dataset: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    run = tmp_path / "run"
    report = _run(home, "train", "--data", str(dataset), "--config", "tiny", "--out", str(run),
                  "--steps", "2", "--json")
    assert report["step"] == 2 and Path(report["model"]).is_dir()
    crops = tmp_path / "crops"
    crops.mkdir()
    for i, face in enumerate(make_faces(3, seed=4)[0]):
        Image.fromarray(face).save(crops / f"{i}.png")
    np.save(tmp_path / "init.npy", unit_rows(1, 0)[0])
    fitted = _run(home, "fit", "Ann", "--crops", str(crops), "--init-embedding",
                  str(tmp_path / "init.npy"), "--model", str(run / "model"), "--steps", "2",
                  "--json")
    assert fitted["faces"] == 3 and Path(fitted["identity"]).is_file()
    assert Path(fitted["identity"]).parent == home / "data" / "identities"
    tiny = tmp_path / "tiny.png"
    Image.fromarray(make_faces(1, seed=5, size=8)[0][0]).save(tiny)
    out = _run(home, "restore-face", str(tiny), "--model", str(run / "model"), "--identity",
               fitted["identity"], "--steps", "2", "--candidates", "2", "--out",
               str(tmp_path / "r.png"), "--json")
    assert len(out["candidates"]) == 2
    assert Image.open(tmp_path / "r.png").size[0] > 3 * 32  # input + two candidates


def test_cli_module_imports_no_torch() -> None:
    probe = "import sys, core.cli_idfsr; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_data_pack_and_unpack_commands(dataset: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    pack = tmp_path / "faces.npz"
    packed = _run(home, "data", "pack", str(dataset), "--out", str(pack), "--json")
    assert packed["faces"] == 8 and pack.is_file()
    out = _run(home, "data", "unpack", str(pack), "--out", str(tmp_path / "again"), "--json")
    assert out["faces"] == 8 and out["identities"] == 2
    # The unpacked dataset trains like the original.
    report = _run(home, "train", "--data", str(tmp_path / "again"), "--config", "tiny",
                  "--out", str(tmp_path / "run"), "--steps", "2", "--json")
    assert report["step"] == 2
