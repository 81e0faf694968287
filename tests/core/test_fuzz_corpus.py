"""A fuzz-style corpus through the index and the face pass: every supported format cut short
at many offsets and damaged at several places, under file and folder names with odd
characters. Zero tracebacks: every file gets a row, every failure a known kind and a
plain reason, nothing is logged as an unexpected error, and the CLI stays clean.

(tests/core/test_bad_inputs.py holds the hand-made hostile files: bombs, pipes, loops.)
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz_corpus import build
from squares_backend import SquaresBackend

from core.context import AppContext
from core.db.models import PhotoStatus
from core.faces.scan import scan_faces
from core.library import indexer, service

KNOWN_KINDS = {"truncated", "corrupt", "empty", "unsupported", "not_an_image", "too_large"}


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, dict[bytes, str], int]:
    root = tmp_path / "odd library ünï"
    files, damaged = build(root)
    return root, files, damaged


def test_corpus_through_index_and_faces(app: AppContext, corpus,
                                        caplog: pytest.LogCaptureFixture) -> None:
    root, files, damaged = corpus
    assert damaged >= 14 * 20
    service.add_root(app, root)
    with caplog.at_level(logging.WARNING):
        report = indexer.index_library(app)
        faces = scan_faces(app, SquaresBackend())
    photos = {os.fsencode(p.path): p for p in service.list_photos(app)}
    assert set(photos) == set(files)
    kinds: dict[str, int] = {}
    for path, label in files.items():
        p = photos[path]
        if label.endswith("/good"):
            assert p.status == PhotoStatus.OK, (label, p.error)
            continue
        if p.status == PhotoStatus.ERROR:
            assert p.error_kind in KNOWN_KINDS, (label, p.error_kind, p.error)
            assert p.error and "Traceback" not in p.error and "\n" not in p.error, label
            kinds[p.error_kind] = kinds.get(p.error_kind, 0) + 1
        else:
            assert p.status == PhotoStatus.OK and p.width and p.height, label
    assert report.errors == sum(kinds.values()) >= damaged // 2, kinds
    # Every cut through the magic bytes and header is an error, never an empty "photo".
    for path, label in files.items():
        if label.split("/")[1] in {"cut1", "cut2", "cut4", "cut8"}:
            assert photos[path].status == PhotoStatus.ERROR, label
    assert faces.photos + faces.errors == len(photos) - report.errors
    assert all("Traceback" not in f["reason"] for f in faces.error_files)
    unexpected = [r for r in caplog.records if r.exc_info or "unexpected" in r.getMessage()]
    assert unexpected == [], [r.getMessage() for r in unexpected]


def test_corpus_through_the_cli(isolated_home: Path, corpus) -> None:
    root, files, _ = corpus
    exe = Path(sys.executable).with_name("idfsr")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c",
                                           "from core.cli import entry; entry()"]

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run([*cmd, "--home", str(isolated_home), *args],
                              capture_output=True, timeout=300, check=False)
        err = proc.stderr.decode("utf-8", "replace")
        assert proc.returncode == 0, err[-3000:]
        assert b"Traceback" not in proc.stdout and "Traceback" not in err
        return proc

    run("--face-backend", "embedded", "library", "add", str(root))
    indexed = json.loads(run("--face-backend", "embedded", "index", "--json").stdout)
    assert indexed["seen"] == len(files)
    assert indexed["faces"]["photos"] + indexed["faces"]["errors"] == (
        len(files) - indexed["errors"])
    status = json.loads(run("library", "status", "--json", "--all").stdout)
    assert status["photos"]["total"] == len(files)
    assert all(p["reason"] for p in status["problems"])
    listing = run("library", "list").stdout.decode("utf-8")  # odd names printed, not crashed
    assert "\\xff\\xfe" in listing
