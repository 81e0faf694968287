"""What every CLI command shares: the app context, JSON output, progress bars, Ctrl-C."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click
from tqdm import tqdm

from core.context import AppContext
from core.db.errors import explain
from core.errors import IdfsrError, JobCancelled
from core.fsutil import display_path
from core.jobs import CancelToken, Progress, ProgressThrottle
from core.paths import AppPaths
from core.safekeeping import open_session

F = TypeVar("F", bound=Callable[..., Any])


class _Plain(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


Row = TypeVar("Row", bound=_Plain)


def json_option(fn: F) -> F:
    """Add `--json` (machine-readable output on stdout) to a command."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")(fn)


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _printable(obj: Any) -> Any:
    """Plain JSON data with every string valid Unicode: file names that are not UTF-8 come
    through Python as lone surrogates, which no UTF-8 output can carry; they are shown as
    `display_path` shows them (`\\xff`), as in every other listing."""
    if isinstance(obj, str):
        return display_path(obj) if any("\udc80" <= c <= "\udcff" for c in obj) else obj
    if isinstance(obj, dict):
        return {_printable(k): _printable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_printable(v) for v in obj]
    return obj


def emit_json(data: Any) -> None:
    """Write data as JSON (valid UTF-8, whatever the file names) to stdout."""
    plain = json.loads(json.dumps(data, default=_default))  # dataclasses, dates: plain data
    click.echo(json.dumps(_printable(plain), indent=2, ensure_ascii=False))


def emit_rows(rows: Sequence[Row], as_json: bool, line: Callable[[Row], str], noun: str) -> None:
    """A list command's output: the rows as JSON, or a line each and how many there are."""
    if as_json:
        emit_json([row.to_dict() for row in rows])
        return
    for row in rows:
        click.echo(line(row))
    click.echo(f"{len(rows)} {noun}")


def app_paths(click_ctx: click.Context) -> AppPaths:
    """The app's folders for this invocation, without opening the database (for the
    commands that look after a damaged one)."""
    return AppPaths.resolve(click_ctx.find_root().params.get("home"))


def app_context(click_ctx: click.Context) -> AppContext:
    """The AppContext for this invocation, opened once and closed when the command ends."""
    root = click_ctx.find_root()
    ctx = root.meta.get("idfsr.app")
    if ctx is None:
        ctx = open_session(root.params.get("home"))
        backend = root.params.get("face_backend")
        if backend:  # for this run only: not saved
            ctx.settings = ctx.settings.model_copy(update={"face_backend": backend})
        root.meta["idfsr.app"] = ctx
        root.call_on_close(ctx.close)
    return ctx


class ProgressBars:
    """A progress callback that draws one tqdm bar per stage on stderr.

    `unit` names what is counted; `units` overrides it per stage. A stage counted in
    "B" is shown in KiB/MiB.
    """

    PLAIN_EVERY_S = 30.0

    def __init__(
        self, enabled: bool = True, unit: str = "photo", units: dict[str, str] | None = None,
        *, plain: bool | None = None,
    ) -> None:
        self.enabled = enabled
        self.unit = unit
        self.units = units or {}
        self.stage: str | None = None
        self.bar: tqdm | None = None
        # Plain lines instead of a redrawn bar: for logs and pipes (stderr not a terminal)
        # and beside --json, so a long job is never silent and stdout stays pure JSON.
        self.plain = (not sys.stderr.isatty()) if plain is None else plain
        self._lines = ProgressThrottle(self.PLAIN_EVERY_S)

    def _line(self, p: Progress) -> None:
        if not self._lines.admit(p) or p.stage == "done":
            return
        unit = self.units.get(p.stage, self.unit)
        count = f"{p.done}/{p.total}" if p.total is not None else f"{p.done}"
        note = f" ({p.message})" if p.message and p.message != p.stage else ""
        click.echo(f"{p.stage}: {count} {unit}{note}", err=True)

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        if self.plain:
            self._line(p)
            return
        if p.stage != self.stage:
            self.close()
            self.stage = p.stage
            if p.stage == "done":
                return
            unit = self.units.get(p.stage, self.unit)
            self.bar = tqdm(total=p.total, desc=p.message or p.stage, unit=unit,
                            unit_scale=unit == "B", unit_divisor=1024,
                            file=sys.stderr, dynamic_ncols=True, leave=False)
        if self.bar is not None:
            if p.total is not None and self.bar.total != p.total:
                self.bar.total = p.total
            self.bar.n = p.done
            self.bar.refresh() if p.total and p.done >= p.total else self.bar.update(0)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextmanager
def cancellable() -> Iterator[CancelToken]:
    """A cancel token set by the first Ctrl-C; a second Ctrl-C interrupts at once."""
    token = CancelToken()
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: Any) -> None:
        if token.cancelled:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        click.echo("\nstopping after the current photos (Ctrl-C again to abort)…", err=True)
        token.cancel()

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield token
    finally:
        signal.signal(signal.SIGINT, previous)


def run_cli(main: click.Group) -> None:
    """Run the click group, turning expected errors into one clear line and an exit code."""
    try:
        main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except JobCancelled as exc:
        click.echo(f"stopped: {exc}", err=True)
        sys.exit(130)
    except IdfsrError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # the few paths that reach SQLite's driver directly
        typed = explain(exc)
        if typed is None:
            raise
        click.echo(f"error: {typed}", err=True)
        sys.exit(1)
