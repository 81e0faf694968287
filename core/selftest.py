"""`idfsr-desktop --self-test`: the demo job, briefly, with every result checked.

Made for the packaged app, which has no Python around it to debug with: one run proves
that the bundled data (demo library, migrations, face models, restoration model) and
the native runtimes (onnxruntime, dlib, FAISS, torch) are there and work together. It
indexes the demo library, clusters and names its people, fits the two people of one old
photo for a few steps, restores that photo with few sampling steps, and checks what was
written. It runs in a throwaway home unless it is given one, so the user's library is
never touched.
"""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.child_process import ChildProcess, check_job
from core.context import AppContext
from core.faces import service as face_service
from core.faces.child_calls import ChildCalls
from core.faces.dlib_embedder import DlibEmbedder, DlibRecognizer
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.library import service
from core.library.imageio import load_image, suffix_supported
from core.resources import demo_library_path
from core.restore.report import FaceStatus, PhotoResult, RestoreStatus
from core.safekeeping import open_session
from core.tasks import demo

# One old photo with the two people the demo names in it (fitted first) and strangers
# (the generic path). Few steps: the point is that every stage runs in the packaged app,
# not the quality of the result.
PHOTO = "album_page_1960s.jpg"
FIT_STEPS = 2
SAMPLE_STEPS = 2


@dataclass(frozen=True)
class Check:
    """One verified outcome."""

    name: str
    ok: bool
    detail: str


@dataclass
class SelfTestReport:
    """Every check the self-test made, and how long it took."""

    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0
    home: Path | None = None

    @property
    def ok(self) -> bool:
        """Whether there were checks and all of them passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        """Record one check."""
        self.checks.append(Check(name, ok, detail))

    def lines(self) -> list[str]:
        """The report as text, one line per check and a verdict."""
        out = [f"{'ok' if c.ok else 'FAIL':<4}  {c.name:<12} {c.detail}" for c in self.checks]
        verdict = "passed" if self.ok else "FAILED"
        out.append(f"self-test {verdict} in {self.seconds:.0f} s")
        return out


def stage_printer(write: Callable[[str], None]) -> ProgressCallback:
    """A progress callback that writes one line whenever the job enters a new stage."""
    seen: set[str] = set()

    def report(p: Progress) -> None:
        if p.stage not in seen:
            seen.add(p.stage)
            write(f"..    {p.stage}")

    return report


@contextmanager
def _home(home: Path | None) -> Iterator[Path]:
    if home is not None:
        yield home
        return
    with tempfile.TemporaryDirectory(prefix="idfsr-self-test-") as folder:
        yield Path(folder)


def run_self_test(
    home: Path | None = None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> SelfTestReport:
    """Run the brief demo job in `home` (None: a temporary folder) and check its results."""
    report = SelfTestReport(home=home)
    started = time.monotonic()
    try:
        with _home(home) as folder, open_session(folder) as ctx:
            _run_and_check(ctx, report, progress, cancel)
    except Exception as exc:  # any failure is the verdict; the traceback is for the report
        report.add("error", False, f"{type(exc).__name__}: {exc}")
        report.add("traceback", False, traceback.format_exc().strip().replace("\n", "\n      "))
    report.seconds = time.monotonic() - started
    return report


def _run_and_check(ctx: AppContext, report: SelfTestReport, progress: ProgressCallback,
                   cancel: CancelToken | None) -> None:
    result = demo.run_demo(ctx, fit_steps=FIT_STEPS, steps=SAMPLE_STEPS, candidates=1,
                           only=(PHOTO,), progress=progress, cancel=cancel)
    library = demo_library_path()
    expected = sum(1 for p in library.rglob("*") if p.is_file() and suffix_supported(p.name))
    indexed = service.library_status(ctx)["photos"].get("ok", 0)
    report.add("index", indexed == expected > 0,
               f"{indexed} of {expected} demo photos indexed")
    faces = face_service.list_faces(ctx)
    report.add("faces", len(faces) >= expected, f"{len(faces)} faces found")
    folders = sum(1 for p in (library / "portraits").iterdir() if p.is_dir())
    report.add("people", len(result.people) == folders,
               f"{len(result.people)} of {folders} demo people named: "
               + ", ".join(p["name"] for p in result.people))
    _check_child_processes(ctx, report)
    report.add("model", result.model_missing is None,
               result.model_missing or "the bundled restoration model loaded")
    if result.model_missing is not None:
        return
    report.add("fit", all(f.steps == FIT_STEPS and f.path.is_file() for f in result.fits),
               f"{len(result.fits)} people fitted for {FIT_STEPS} steps")
    photos = result.restore.photos if result.restore is not None else []
    restored = [p for p in photos if p.status == RestoreStatus.RESTORED and p.output]
    report.add("restore", len(photos) == 1 and len(restored) == 1,
               "; ".join(f"{Path(p.source).name}: {p.status} {p.message}".strip()
                         for p in photos) or "nothing restored")
    for photo in restored:
        _check_output(report, photo)
    report.add("comparison", len(result.comparisons) == len(restored)
               and all(Path(c).is_file() for c in result.comparisons),
               f"{len(result.comparisons)} before/after image(s)")


def _check_child_processes(ctx: AppContext, report: SelfTestReport) -> None:
    """The desktop app runs jobs and GIL-holding face models in child processes; a frozen
    app starts those through its own executable, so check that they start and answer."""
    engine = ChildProcess(ctx.paths.home)
    child = ChildCalls()
    try:
        ran = engine.run(check_job, 2)
        embedder = DlibEmbedder(DlibRecognizer(child=child))
        vector = embedder.embed_chips([np.full((150, 150, 3), 128, np.uint8)])
        report.add("workers", ran["pid"] != os.getpid() and vector.shape == (1, 128),
                   "job and face-model processes started and answered")
    finally:
        engine.close()
        child.close()


def _check_output(report: SelfTestReport, photo: PhotoResult) -> None:
    """The restored photo opens at the promised size, no face failed, its note is there."""
    output = Path(photo.output or "")
    with load_image(Path(photo.source)) as before, load_image(output) as after:
        wanted = (round(before.width * photo.scale), round(before.height * photo.scale))
        size_ok = abs(after.width - wanted[0]) <= 1 and abs(after.height - wanted[1]) <= 1
        report.add("output", size_ok, f"{output.name}: {after.width}x{after.height} "
                   f"(expected {wanted[0]}x{wanted[1]})")
    done = [f for f in photo.faces if f.status == FaceStatus.RESTORED]
    failed = [f for f in photo.faces if f.status == FaceStatus.FAILED]
    personal = sum(1 for f in done if f.path == "personal")
    # A face already as sharp as the model restores is skipped, not failed: which faces
    # qualify depends on the bundled model's resolution, so only failures count.
    report.add("faces done", bool(done) and not failed,
               f"{len(done)} of {len(photo.faces)} faces restored ({personal} as their "
               f"person), {len(failed)} failed"
               + "".join(f"; face {f.number}: {f.message}" for f in failed))
    sidecar = Path(photo.sidecar or "")
    report.add("sidecar", sidecar.is_file(), sidecar.name or "none written")
