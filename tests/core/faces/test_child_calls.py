"""The face extensions' child process ends with the app, even when the app is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from process_support import gone_within

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import sys, time
import numpy as np
from core.faces.child_calls import ChildCalls
from core.faces.dlib_embedder import DlibEmbedder, DlibRecognizer
if __name__ == "__main__":
    child = ChildCalls()
    DlibEmbedder(DlibRecognizer(child=child)).embed_chips([np.zeros((150, 150, 3), np.uint8)])
    print(child.pid, flush=True)
    if sys.argv[1] == "close":
        child.close()
        print("closed", flush=True)
    time.sleep(60)
"""


def start(mode: str) -> tuple[subprocess.Popen[str], int]:
    app = subprocess.Popen([sys.executable, "-c", SCRIPT, mode], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    assert app.stdout is not None
    return app, int(app.stdout.readline())


def test_the_child_ends_when_the_app_is_killed() -> None:
    app, child = start("kill")
    assert child != app.pid
    app.send_signal(signal.SIGKILL)
    app.wait()
    assert gone_within(child, 10), "the face models' process outlived its app"


def test_close_ends_the_child_at_once() -> None:
    app, child = start("close")
    try:
        assert app.stdout is not None and app.stdout.readline().strip() == "closed"
        assert gone_within(child, 2)
    finally:
        app.kill()
        app.wait()
    assert os.getpid() != child
