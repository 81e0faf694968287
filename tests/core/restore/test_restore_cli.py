"""`idfsr restore` as a user runs it, and `idfsr demo` with and without the model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.cli import main
from core.context import AppContext
from core.resources import demo_library_path
from core.tasks.demo import run_demo

ROOT = Path(__file__).resolve().parents[3]


def test_restore_command_json_and_exit_code(lib: AppContext, model_dir: Path, old_photos: Path,
                                            tmp_path: Path) -> None:
    home = str(lib.paths.home)
    lib.close()
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    cmd = [sys.executable, "-c", "from core.cli import entry; entry()", "--home", home,
           "restore", str(old_photos / "grey.png"), str(broken), "--out", str(tmp_path / "out"),
           "--model", str(model_dir), "--steps", "1", "--candidates", "1", "--no-fit",
           "--scale", "1", "--json"]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 1, run.stderr  # one photo could not be read
    out = json.loads(run.stdout)
    grey, bad = out["photos"]
    assert grey["status"] == "restored" and Path(grey["output"]).is_file()
    assert bad["status"] == "error" and "cannot read the photo" in bad["message"]
    assert out["summary"]["written"] == 1 and out["summary"]["errors"] == 1
    assert out["model"]["sha256"] and out["fitted"] == []


def test_restore_command_text_and_bad_options(lib: AppContext, model_dir: Path,
                                              old_photos: Path, tmp_path: Path) -> None:
    home = str(lib.paths.home)
    lib.close()
    runner = CliRunner()
    unknown = runner.invoke(main, ["--home", home, "restore", str(old_photos / "grey.png"),
                                   "--out", str(tmp_path / "out"), "--model", str(model_dir),
                                   "--person", "1=nobody-by-that-name"])
    assert "there is no person named" in str(unknown.exception)
    assert not (tmp_path / "out").exists()
    ok = runner.invoke(main, ["--home", home, "restore", str(old_photos / "grey.png"),
                              "--out", str(tmp_path / "out"), "--model", str(model_dir),
                              "--steps", "1", "--candidates", "1", "--no-fit",
                              "--person", "1=Barack Obama"], catch_exceptions=False)
    assert ok.exit_code == 0, ok.output
    assert "face 1:" in ok.output and "Barack Obama (your choice)" in ok.output
    assert "1 of 1 photo(s) written" in ok.output
    bad = runner.invoke(main, ["--home", home, "restore", "x.jpg", "--out", str(tmp_path),
                               "--scale", "9"])
    assert bad.exit_code != 0 and "--scale must be between 1 and 4" in str(bad.exception)
    missing = runner.invoke(main, ["--home", home, "restore", str(old_photos / "grey.png"),
                                   "--out", str(tmp_path), "--model", str(tmp_path / "none")])
    assert "not installed" in str(missing.exception)


def test_demo_without_the_model_says_so(lib: AppContext, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    resources = tmp_path / "resources"
    (resources / "models").mkdir(parents=True)
    (resources / "demo").symlink_to(demo_library_path().resolve())
    monkeypatch.setenv("IDFSR_RESOURCES", str(resources))
    report = run_demo(lib)
    assert report.model_missing and "not installed" in report.model_missing
    assert "train_default.sh" in report.model_missing
    assert report.fits == [] and report.restore is None
    assert {p["name"] for p in report.people} == {
        "Barack Obama", "Joe Biden", "Jack Dorsey", "Jennifer Aniston", "Mark Zuckerberg"}


@pytest.mark.slow
def test_demo_runs_the_whole_job_with_a_model(lib: AppContext, model_dir: Path) -> None:
    shutil.copytree(model_dir, lib.paths.models / "idfsr" / "idfsr-default")
    report = run_demo(lib, fit_steps=1, steps=1, candidates=1)
    assert report.model_missing is None
    assert len(report.fits) == 2 and all(f.path.is_file() for f in report.fits)
    assert report.restore is not None
    album = next(p for p in report.restore.photos if "album" in p.source)
    assert album.status == "restored" and album.output and len(album.faces) >= 8
    assert any(f.status == "restored" for f in album.faces)
    assert report.comparisons and all(Path(c).is_file() for c in report.comparisons)
    again = run_demo(lib, fit_steps=1, steps=1, candidates=1)
    assert again.fits == []  # fitted people are kept


@pytest.mark.slow
def test_bundled_model_restores_the_demo_album_visibly(lib: AppContext) -> None:
    """The bundled model, as `make demo` runs it: the known faces change, visibly, and the
    product's own identity check does not fall."""
    import numpy as np
    from PIL import Image

    report = run_demo(lib)
    assert report.model_missing is None and report.restore is not None
    album = next(p for p in report.restore.photos if "album" in p.source)
    personal = [f for f in album.faces if f.path == "personal"]
    assert len(personal) == 2
    for f in personal:
        lr = np.asarray(Image.open(f.crops["lr"]).convert("L"), np.float32)
        result = np.asarray(Image.open(f.crops["result"]).convert("L"), np.float32)
        assert np.abs(result - lr).mean() > 4.0, "the restored face is its input"
        assert f.identity_similarity_after >= f.identity_similarity_before - 1e-6, (
            f.match.name, f.identity_similarity_before, f.identity_similarity_after)
