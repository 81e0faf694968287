"""The `idfsr` command line, run as a user runs it (a subprocess on the installed entry point)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests_support import make_jpeg

from core.resources import demo_library_path

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
    # --no-restore: with the bundled model installed the full demo takes minutes.
    out = json.loads(idfsr("demo", "--no-restore", "--json", home=tmp_path / "home").stdout)
    expected = sum(1 for p in demo_library_path().rglob("*.jpg"))
    assert out["index"]["new"] == expected >= 12
    assert out["status"]["photos"]["ok"] == expected
    again = json.loads(idfsr("demo", "--no-restore", "--json", home=tmp_path / "home").stdout)
    assert again["index"]["unchanged"] == expected and again["index"]["new"] == 0


def test_ctrl_c_stops_cleanly_and_rerun_resumes(tmp_path: Path) -> None:
    """SIGINT during `idfsr index`: exit 130 with a message, a sound DB, and a rerun finishes."""
    import signal
    import sqlite3
    import time

    lib = tmp_path / "big"
    n = 800  # enough that the run is still going when the first batch is committed
    for i in range(n):
        make_jpeg(lib / f"{i:04d}.jpg", seed=5000 + i, size=(640, 480))
    home = tmp_path / "home"
    idfsr("library", "add", str(lib), home=home)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from core.cli import entry; entry()", "--home", str(home),
         "index"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "IDFSR_HOME": ""},
    )
    db = home / "data" / "library.db"
    deadline = time.monotonic() + 60
    count = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            with sqlite3.connect(db, timeout=1) as conn:
                count = conn.execute("SELECT count(*) FROM photos").fetchone()[0]
        except sqlite3.Error:
            continue
        if count > 0:
            break
    assert proc.poll() is None and count > 0, "indexing should have been under way"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run it again to resume" in err and "Traceback" not in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        done = conn.execute("SELECT count(*) FROM photos").fetchone()[0]
    assert 0 < done < n
    # The photo scan is what resumes; the face pass over 800 photos would only add minutes.
    report = json.loads(idfsr("index", "--no-faces", "--json", home=home).stdout)
    assert report["new"] == n - done and report["unchanged"] == done
