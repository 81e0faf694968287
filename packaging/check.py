"""`make package-check`: run the built app the way a user's machine would, and time it.

1. `idfsr-desktop --self-test`: the demo job, briefly, in a throwaway home (see
   core/selftest.py); its verdict is the exit status.
2. The window: `idfsr-desktop --startup-check` prints "main window shown" once the main
   window is on screen and quits. On Linux it runs under its own Xvfb. The first start
   is cold (the app's files are evicted from the page cache first, on Linux; a new, empty
   home), then a few warm ones. Seconds are from starting the process to that line.

The app runs with a clean environment and from a folder outside the checkout, so nothing
of the venv or the source tree can stand in for what the bundle lacks. Writes
build/package-check.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import manifest  # noqa: E402

SELF_TEST_TIMEOUT_S = 1800
STARTUP_TIMEOUT_S = 180
WARM_RUNS = 3
# What the app must not inherit from the shell that built it.
_LEAKY = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "IDFSR_HOME", "IDFSR_RESOURCES",
          "QT_QPA_PLATFORM", "QT_PLUGIN_PATH", "LD_LIBRARY_PATH")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what could hide a gap in the bundle."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env.update(extra)
    return env


def self_test(exe: Path, workdir: Path) -> dict[str, object]:
    """Run the frozen self-test; its verdict and time."""
    started = time.monotonic()
    proc = subprocess.run([str(exe), "--self-test"], cwd=workdir, env=clean_env(),
                          timeout=SELF_TEST_TIMEOUT_S, check=False)
    return {"passed": proc.returncode == 0, "exit_status": proc.returncode,
            "seconds": round(time.monotonic() - started, 1)}


def evict_from_page_cache(folder: Path) -> bool:
    """Drop the folder's files from the OS page cache (Linux), for a cold start."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return True


@contextmanager
def display() -> Iterator[dict[str, str]]:
    """Environment for a window: a private Xvfb on Linux, the desktop elsewhere."""
    if not sys.platform.startswith("linux"):
        yield {}
        return
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as ready:  # Xvfb writes its display number once it listens
            number = ready.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start (is the xvfb package installed?)")
        yield {"DISPLAY": f":{number}"}
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=30)


def time_to_window(exe: Path, home: Path, env: dict[str, str], workdir: Path) -> float:
    """Seconds from starting the app to its main window on screen."""
    started = time.perf_counter()
    proc = subprocess.Popen([str(exe), "--home", str(home), "--startup-check"], cwd=workdir,
                            env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    shown = None
    for line in proc.stdout:
        if line.strip() == "main window shown":
            shown = time.perf_counter() - started
    status = proc.wait(timeout=STARTUP_TIMEOUT_S)
    if shown is None or status != 0:
        raise RuntimeError(f"the window did not come up (exit status {status})")
    return shown


def startup(app: Path, exe: Path, workdir: Path) -> dict[str, object]:
    """Cold and warm start-up times of the window."""
    with display() as extra:
        env = clean_env(**extra)
        home = workdir / "startup-home"
        cold_cache = evict_from_page_cache(app)
        cold = time_to_window(exe, home, env, workdir)
        warm = [time_to_window(exe, home, env, workdir) for _ in range(WARM_RUNS)]
    return {"cold_seconds": round(cold, 2), "cold_page_cache_evicted": cold_cache,
            "warm_seconds": round(statistics.median(warm), 2),
            "warm_runs": [round(w, 2) for w in warm]}


def main() -> int:
    """Both checks; the exit status."""
    app = manifest.app_folder()
    if not app.exists():
        print(f"error: {app} is not built; run `make package` first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="idfsr-package-check-") as tmp:
        workdir = Path(tmp)
        tested = self_test(manifest.executable(app, console=True), workdir)
        try:
            window = startup(app, manifest.executable(app), workdir)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            window = {"error": str(exc)}
    report = {"app": str(app.relative_to(ROOT)), "self_test": tested, "startup": window}
    (manifest.BUILD_DIR / "package-check.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0 if tested["passed"] and "error" not in window else 1


if __name__ == "__main__":
    sys.exit(main())
