"""Core jobs in a child process, for a process whose event loop must not wait on them.

Importing torch, and some of its calls, hold the GIL for hundreds of milliseconds at a
time; in the desktop app that freezes the window. An EngineProcess runs such jobs (fitting,
restoring) in a child started on first use and kept for the next job (so the model stays
loaded), with the same contract as in-process: progress reported as it happens, cancel
honoured at the job's next check, a user-facing error raised as the same error type.

    engine = EngineProcess(ctx.paths.home)
    outcome = engine.run("core.tasks.fitting:fit_person", person_id, steps=100,
                         progress=progress, cancel=cancel)

Only functions named by "module:function" under `core` run there, each called as
fn(ctx, *args, progress=..., cancel=..., **kwargs) with the child's own AppContext over the
same home; the child reads the settings file afresh before each job. Jobs run one at a
time per engine. The child ends with `close()`, when this process ends, or on its own
when it finds this process gone.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import pickle
import queue
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from core.context import AppContext
from core.errors import IdfsrError, JobCancelled, LibraryError
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.settings import load_settings

log = logging.getLogger(__name__)

_POLL_S = 0.1  # how often a waiting caller checks for progress, cancel and a dead child
_STOP_S = 5.0  # how long close() waits for the child before ending it by force


@dataclass(frozen=True)
class _Failure:
    """An exception, carried across the pipe by type name, message and attributes."""

    module: str
    name: str
    message: str
    attrs: dict[str, Any]
    trace: str

    @classmethod
    def of(cls, exc: BaseException) -> _Failure:
        attrs = {k: v for k, v in vars(exc).items() if _plain(v)}
        return cls(type(exc).__module__, type(exc).__qualname__, str(exc), attrs,
                   "".join(traceback.format_exception(exc)))

    def rebuild(self) -> BaseException:
        """The same error type where it is one of ours; else an IdfsrError saying what broke."""
        try:
            kind = getattr(importlib.import_module(self.module), self.name)
        except (ImportError, AttributeError):
            kind = None
        if isinstance(kind, type) and issubclass(kind, IdfsrError):
            exc = kind.__new__(kind)
            Exception.__init__(exc, self.message)
            exc.__dict__.update(self.attrs)
            return exc
        return IdfsrError(f"the job failed in its worker process ({self.name}: {self.message})")


def _plain(value: object) -> bool:
    return isinstance(value, str | int | float | bool | type(None))


class _ChildCancel(CancelToken):
    """Cancelled when the parent names this job in the shared cancel slot, or is gone."""

    def __init__(self, slot: Any, job: int, parent: int) -> None:
        super().__init__()
        self._slot, self._job, self._parent = slot, job, parent

    @property
    def cancelled(self) -> bool:
        if self._slot.value == self._job or os.getppid() != self._parent:
            super().cancel()
        return super().cancelled

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise JobCancelled()


def _child_main(home: Path | None, requests: Any, replies: Any, cancel_slot: Any,
                parent: int) -> None:
    """The child's loop: open the home once, then run each request until told to stop."""
    with AppContext.open(home) as ctx:
        while True:
            try:
                request = requests.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent:  # the app is gone: nobody waits for results
                    return
                continue
            if request is None:
                return
            job, target, args, kwargs = request
            try:
                ctx.settings = load_settings(ctx.paths.settings_file)
                ctx.apply_models_dir()
                module, _, name = target.partition(":")
                fn = getattr(importlib.import_module(module), name)

                def progress(report: Progress, job: int = job) -> None:
                    replies.put(("progress", job, report))

                cancel = _ChildCancel(cancel_slot, job, parent)
                result = fn(ctx, *args, progress=progress, cancel=cancel, **kwargs)
                # Pickled here, not in the queue's feeder thread, so a failure is reported.
                replies.put(("done", job, pickle.dumps(result)))
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
                replies.put(("failed", job, _Failure.of(exc)))


class EngineProcess:
    """One child process that runs core jobs for this process, one at a time."""

    def __init__(self, home: str | os.PathLike[str] | None) -> None:
        """`home`: the app's home (None: where AppContext.open(None) finds it)."""
        self.home = Path(home) if home is not None else None
        self._mp = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._requests: Any = None
        self._replies: Any = None
        self._cancel_slot: Any = None
        self._lock = threading.Lock()  # one job at a time
        self._jobs = 0
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def _start(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        self._requests, self._replies = self._mp.Queue(), self._mp.Queue()
        self._cancel_slot = self._mp.Value("q", 0, lock=False)
        self._process = self._mp.Process(
            target=_child_main, name="idfsr-engine", daemon=True,
            args=(self.home, self._requests, self._replies, self._cancel_slot, os.getpid()))
        self._process.start()

    def run(self, target: str, *args: Any, progress: ProgressCallback = no_progress,
            cancel: CancelToken | None = None, **kwargs: Any) -> Any:
        """Run `target` ("core.module:function") in the child and return its result."""
        if not target.startswith("core.") or ":" not in target:
            raise ValueError(f"not a core job: {target!r}")
        cancel = cancel or CancelToken()
        with self._lock:
            if self._closed:
                raise JobCancelled("the app is closing")
            cancel.raise_if_cancelled()
            self._start()
            self._jobs += 1
            job = self._jobs
            self._requests.put((job, target, args, kwargs))
            return self._wait(job, progress, cancel)

    def _wait(self, job: int, progress: ProgressCallback, cancel: CancelToken) -> Any:
        assert self._process is not None
        while True:
            if cancel.cancelled:
                self._cancel_slot.value = job
            try:
                kind, which, payload = self._replies.get(timeout=_POLL_S)
            except queue.Empty:
                if not self._process.is_alive():
                    code = self._process.exitcode
                    self._process = None
                    if self._closed:
                        raise JobCancelled("the app is closing") from None
                    raise IdfsrError(
                        f"the worker process ended unexpectedly (exit code {code}); if the "
                        "machine ran out of memory, try fewer candidates or a smaller scale"
                    ) from None
                continue
            if which != job:  # a late message of an earlier job
                continue
            if kind == "progress":
                progress(payload)
            elif kind == "done":
                return pickle.loads(payload)
            else:
                log.debug("engine job failed:\n%s", payload.trace)
                raise payload.rebuild()

    def close(self, timeout: float = _STOP_S) -> None:
        """Stop the running job (if any) and end the child; later runs are refused."""
        self._closed = True
        process = self._process
        if process is None:
            return
        self._cancel_slot.value = self._jobs
        with contextlib.suppress(OSError, ValueError):  # a queue already broken
            self._requests.put(None)
        process.join(timeout)
        if process.is_alive():
            process.terminate()
            process.join(1.0)
        with self._lock:  # the waiting caller has seen the end by now
            self._process = None



def check_job(ctx: Any, steps: int = 3, step_s: float = 0.0, fail: str | None = None, *,
              progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
              ) -> dict[str, Any]:
    """The engine's own check (self-test, tests): `steps` progress reports `step_s` apart,
    honouring cancel; raises LibraryError(`fail`) when asked; says where it ran."""
    import time

    cancel = cancel or CancelToken()
    for i in range(1, steps + 1):
        cancel.raise_if_cancelled()
        time.sleep(step_s)
        progress(Progress("check", i, steps))
    if fail is not None:
        raise LibraryError(fail)
    return {"pid": os.getpid(), "home": str(ctx.paths.home), "steps": steps}
