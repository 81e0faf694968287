"""The `idfsr` command line, run as a user runs it (a subprocess on the installed entry point)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.resources import demo_library_path
from tests_support import make_jpeg

ROOT = Path(__file__).resolve().parents[2]


def idfsr(*args: str, home: Path | None = None, env: dict[str, str] | None = None,
          ok: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from core.cli import entry; entry()"]
    if home is not None:
        cmd += ["--home", str(home)]
    out = subprocess.run(cmd + list(args), capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, **(env or {})}, timeout=120)
    assert "Traceback" not in out.stderr, out.stderr
    if ok:
        assert out.returncode == 0, out.stderr
    return out


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    for i in range(3):
        make_jpeg(tmp_path / "lib" / f"{i}.jpg", seed=i)
    return tmp_path / "lib"


def test_add_index_status_json(tmp_path: Path, photos: Path) -> None:
    home = tmp_path / "home"
    added = json.loads(idfsr("library", "add", str(photos), "--json", home=home).stdout)
    assert added["path"] == str(photos.resolve())
    report = json.loads(idfsr("index", "--json", home=home).stdout)
    assert report["new"] == 3 and report["errors"] == 0
    status = json.loads(idfsr("library", "status", "--json", home=home).stdout)
    assert status["photos"] == {"total": 3, "ok": 3, "error": 0, "missing": 0}
    assert status["home"] == str(home)
    assert Path(status["database"]).is_relative_to(home)
    listed = json.loads(idfsr("library", "list", "--json", home=home).stdout)
    assert sorted(Path(p["path"]).name for p in listed) == ["0.jpg", "1.jpg", "2.jpg"]


def test_idfsr_home_env_is_honoured(tmp_path: Path, photos: Path) -> None:
    home = tmp_path / "env-home"
    idfsr("library", "add", str(photos), env={"IDFSR_HOME": str(home)})
    assert (home / "data" / "library.db").exists()


def test_user_errors_are_one_clear_line(tmp_path: Path) -> None:
    out = idfsr("library", "add", str(tmp_path / "nope"), home=tmp_path / "h", ok=False)
    assert out.returncode == 1
    assert out.stderr.strip() == f"error: no such folder: {tmp_path / 'nope'}"


def test_rescan_and_purge(tmp_path: Path, photos: Path) -> None:
    home = tmp_path / "home"
    idfsr("library", "add", str(photos), home=home)
    idfsr("index", home=home)
    (photos / "0.jpg").unlink()
    text = idfsr("index", "--rescan", home=home).stdout
    assert "2 changed" in text and "1 newly missing" in text
    assert json.loads(idfsr("library", "purge", "--json", home=home).stdout) == {"purged": 1}


def test_demo_indexes_the_bundled_library(tmp_path: Path) -> None:
    out = json.loads(idfsr("demo", "--json", home=tmp_path / "home").stdout)
    expected = sum(1 for p in demo_library_path().rglob("*.jpg"))
    assert out["index"]["new"] == expected >= 12
    assert out["status"]["photos"]["ok"] == expected
    again = json.loads(idfsr("demo", "--json", home=tmp_path / "home").stdout)
    assert again["index"]["unchanged"] == expected and again["index"]["new"] == 0
