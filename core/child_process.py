"""The one way to run work out of this process: a child process, started on first use and
kept for the next call (and InProcess, the same contract in this process).

Importing torch, some of its calls, and some C extensions (dlib's network, yuface) hold the
GIL for hundreds of milliseconds at a time; in the desktop app that freezes the window.
A ChildProcess runs such work in a child with the same contract as in-process: progress
reported as it happens, cancel honoured at the job's next check, a user-facing error raised
as the same error type, and the child kept between calls so what it loaded stays loaded.

    child = ChildProcess(ctx.paths.home)
    outcome = child.run(fit_person, person_id, steps=100, progress=progress, cancel=cancel)
    vectors = child.call(descriptors, model_file, chips)

What crosses is a function, pickled by reference: a top-level function of an importable
module (a lambda or a nested function is refused at once, with the reason). `run` calls
fn(ctx, *args, progress=..., cancel=..., **kwargs) with the child's own AppContext over the
same home (opened on the first job, settings read afresh before each); `call` calls
fn(*args) with nothing added. Work runs one call at a time per child. A child that dies
(killed, out of memory) is a ChildProcessEnded error for the caller, and the next call
starts another. The child ends with `stop()` or `close()`, when this process ends, or on
its own when it finds this process gone.
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
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, TypeVar

from core.context import AppContext
from core.errors import IdfsrError, JobCancelled, LibraryError
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.settings import load_settings

log = logging.getLogger(__name__)

T = TypeVar("T")

_POLL_S = 0.1  # how often a waiting caller checks for progress, cancel and a dead child
_STOP_S = 5.0  # how long stop() waits for the child before ending it by force
_ORPHAN_GRACE_S = 5.0  # how long an orphaned child lets its job stop before it exits anyway


class ChildProcessEnded(IdfsrError):
    """The child process died while it worked (killed, out of memory, a crash)."""


class ChildJobFailed(IdfsrError):
    """The work raised an error that is not one of ours (a bug): its type and message."""


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

    def rebuild(self) -> IdfsrError:
        """The same error type where it is one of ours; else a ChildJobFailed saying what
        broke."""
        try:
            kind = getattr(importlib.import_module(self.module), self.name)
        except (ImportError, AttributeError):
            kind = None
        if isinstance(kind, type) and issubclass(kind, IdfsrError):
            exc = kind.__new__(kind)
            Exception.__init__(exc, self.message)
            exc.__dict__.update(self.attrs)
            return exc
        return ChildJobFailed(
            f"the job failed in its worker process ({self.name}: {self.message})")


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


def _watch_parent(parent: int) -> None:
    """In the child: once the parent is gone, give the running job a moment to stop at its
    next check (its cancel token sees the parent gone), then exit whatever it is doing."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        time.sleep(_ORPHAN_GRACE_S)
        os._exit(0)

    threading.Thread(target=watch, name="idfsr-parent-watch", daemon=True).start()


def _child_main(home: Path | None, requests: Any, replies: Any, cancel_slot: Any,
                parent: int) -> None:
    """The child's loop: run each request until told to stop or orphaned."""
    _watch_parent(parent)
    with contextlib.ExitStack() as stack:
        ctx: Any = None
        while True:
            try:
                request = requests.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent:  # the app is gone: nobody waits for results
                    return
                continue
            if request is None:
                return
            job, with_context, payload = request
            try:
                fn, args, kwargs = pickle.loads(payload)
                if with_context:
                    ctx = ctx or stack.enter_context(_open_context(home))
                    _refresh(ctx)

                    def progress(report: Progress, job: int = job) -> None:
                        replies.put(("progress", job, report))

                    cancel = _ChildCancel(cancel_slot, job, parent)
                    result = fn(ctx, *args, progress=progress, cancel=cancel, **kwargs)
                else:
                    result = fn(*args, **kwargs)
                # Pickled here, not in the queue's feeder thread, so a failure is reported.
                replies.put(("done", job, pickle.dumps(result)))
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
                replies.put(("failed", job, _Failure.of(exc)))


def _open_context(home: Path | None) -> AppContext:
    return AppContext.open(home)


def _refresh(ctx: Any) -> None:
    """The settings as the app last saved them (the user may have changed them since)."""
    ctx.settings = load_settings(ctx.paths.settings_file)
    ctx.apply_models_dir()


class ChildProcess:
    """One child process that runs work for this process, one call at a time."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *,
                 name: str = "idfsr-child") -> None:
        """`home`: the app's home for jobs' contexts (None: where AppContext.open(None)
        finds it); `name`: the child's process name."""
        self.home = Path(home) if home is not None else None
        self.name = name
        self._mp = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._stopping: BaseProcess | None = None  # ended on purpose by stop()
        self._requests: Any = None
        self._replies: Any = None
        self._cancel_slot: Any = None
        self._lock = threading.Lock()  # one call at a time
        self._calls = 0
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def run(self, fn: Callable[..., T], *args: Any, progress: ProgressCallback = no_progress,
            cancel: CancelToken | None = None, **kwargs: Any) -> T:
        """fn(ctx, *args, progress=..., cancel=..., **kwargs) in the child; its result."""
        return self._submit(fn, args, kwargs, True, progress, cancel or CancelToken())

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) in the child, with no context, progress or cancel; its result."""
        return self._submit(fn, args, kwargs, False, no_progress, CancelToken())

    def stop(self, timeout: float = _STOP_S) -> None:
        """Stop the running call (if any) and end the child; a later call starts another."""
        process = self._process
        if process is None:
            return
        self._stopping = process
        self._cancel_slot.value = self._calls
        with contextlib.suppress(OSError, ValueError):  # a queue already broken
            self._requests.put(None)
        process.join(timeout)
        if process.is_alive():
            process.terminate()
            process.join(1.0)
        with self._lock:  # the waiting caller has seen the end by now
            if self._process is process:
                self._process = None

    def close(self, timeout: float = _STOP_S) -> None:
        """Stop the running call (if any) and end the child; later calls are refused."""
        self._closed = True
        self.stop(timeout)

    def _submit(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any],
                with_context: bool, progress: ProgressCallback, cancel: CancelToken) -> T:
        try:  # here, so that what cannot cross says so at once (a lambda, an open file)
            payload = pickle.dumps((fn, args, kwargs))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise TypeError(f"{getattr(fn, '__qualname__', fn)!r} cannot run in a child "
                            f"process ({exc}); give a top-level function and plain "
                            "arguments") from exc
        if not self._lock.acquire(blocking=False):  # another job runs: wait, cancellable
            progress(Progress("waiting", 0, None, "waiting for the job before it"))
            while not self._lock.acquire(timeout=_POLL_S):
                cancel.raise_if_cancelled()
        try:
            if self._closed:
                raise JobCancelled("the app is closing")
            cancel.raise_if_cancelled()
            self._start()
            self._calls += 1
            call = self._calls
            self._requests.put((call, with_context, payload))
            result: T = self._wait(call, progress, cancel)
            return result
        finally:
            self._lock.release()

    def _start(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        self._requests, self._replies = self._mp.Queue(), self._mp.Queue()
        # A request still in the pipe when the child dies (killed, out of memory) is never
        # read; multiprocessing would join the queue's feeder thread at exit, and wait for
        # ever on a request larger than the pipe's buffer. Nothing sent to a child matters
        # once this process exits, so the exit does not wait for it.
        self._requests.cancel_join_thread()
        self._cancel_slot = self._mp.Value("q", 0, lock=False)
        self._process = self._mp.Process(
            target=_child_main, name=self.name, daemon=True,
            args=(self.home, self._requests, self._replies, self._cancel_slot, os.getpid()))
        self._process.start()

    def _wait(self, call: int, progress: ProgressCallback, cancel: CancelToken) -> Any:
        process = self._process
        assert process is not None
        while True:
            if cancel.cancelled:
                self._cancel_slot.value = call
            try:
                kind, which, payload = self._replies.get(timeout=_POLL_S)
            except queue.Empty:
                if not process.is_alive():
                    self._process = None
                    if self._closed or self._stopping is process:
                        raise JobCancelled("the app is closing") from None
                    raise ChildProcessEnded(
                        f"the worker process ended unexpectedly (exit code "
                        f"{process.exitcode}); if the machine ran out of memory, try fewer "
                        "candidates or a smaller scale") from None
                continue
            if which != call:  # a late message of an earlier call
                continue
            if kind == "progress":
                progress(payload)
            elif kind == "done":
                return pickle.loads(payload)
            else:
                error = payload.rebuild()
                level = logging.WARNING if isinstance(error, ChildJobFailed) else logging.DEBUG
                log.log(level, "a job failed in the worker process:\n%s", payload.trace)
                raise error


class InProcess:
    """Runs jobs right here, in the calling thread, with this process's context: the
    JobExecutor that a ChildProcess stands in for when nothing needs to leave."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def run(self, fn: Callable[..., T], *args: Any, progress: ProgressCallback = no_progress,
            cancel: CancelToken | None = None, **kwargs: Any) -> T:
        """fn(ctx, *args, progress=..., cancel=..., **kwargs)."""
        return fn(self.ctx, *args, progress=progress, cancel=cancel or CancelToken(), **kwargs)


def check_job(ctx: Any, steps: int = 3, step_s: float = 0.0, fail: str | None = None, *,
              progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
              ) -> dict[str, Any]:
    """The child's own check (self-test, tests): `steps` progress reports `step_s` apart,
    honouring cancel; raises LibraryError(`fail`) when asked; says where it ran."""
    cancel = cancel or CancelToken()
    for i in range(1, steps + 1):
        cancel.raise_if_cancelled()
        time.sleep(step_s)
        progress(Progress("check", i, steps))
    if fail is not None:
        raise LibraryError(fail)
    return {"pid": os.getpid(), "home": str(ctx.paths.home), "steps": steps}
