"""Download, verify and install an insightface model pack, all or nothing.

Runs only when the user asks (`idfsr models get`, or the GUI's offer). The archive is
streamed into a temp folder inside the packs folder (same file system, so the final
step is one atomic rename), checked against the catalog's size and sha256, unpacked
with zip integrity checks, and every .onnx file is loaded once through insightface's
router. Only then does the pack folder appear; on any failure or cancel the temp
folder is removed and nothing is left half-installed.

Redirects are followed only to the same origin (scheme, host, port), or over HTTPS to
the CDN hosts a known origin is known to use (GitHub's release assets); never to plain
HTTP from HTTPS, never to another host over plain HTTP. This is the app's only network
code: nothing else opens a connection.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import shutil
import ssl
import stat
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from core.errors import IdfsrError, ModelCorruptError
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.models.base import sha256_file
from core.models.catalog import PackSpec
from core.models.insightface_pack import (
    embedding_dim,
    find_pack,
    pack_dir,
    packs_root,
    route_file,
    write_manifest,
)

CHUNK = 1 << 20
# Archives of unknown size are refused beyond this; known ones beyond their size.
MAX_ARCHIVE_BYTES = 2 << 30
# Unpacked files may be at most this many times the archive (zip-bomb guard).
MAX_UNPACK_RATIO = 4
STALE_SECONDS = 3600
USER_AGENT = "idfsr-desktop model installer"


class ModelDownloadError(IdfsrError):
    """A model could not be downloaded or installed (network, disk, server)."""


@dataclass
class InstallReport:
    """What `install_pack` did."""

    pack: str
    path: Path
    already_installed: bool = False
    bytes: int = 0
    sha256: str = ""
    checksum_verified: bool = False  # False when the catalog knows no checksum
    detection: str = ""
    recognition: str = ""
    embedding_dim: int = 0
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0


def install_pack(
    models: Path,
    spec: PackSpec,
    *,
    url: str | None = None,
    force: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    timeout: float = 30.0,
) -> InstallReport:
    """Download `spec` (from `url` if given, e.g. a mirror), verify it and install it atomically."""
    cancel = cancel or CancelToken()
    target = pack_dir(models, spec.name)
    if not force and find_pack(models, spec.name) is not None:
        return InstallReport(spec.name, target, already_installed=True)
    t0 = time.monotonic()
    root = packs_root(models)
    staging: Path | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        _sweep_stale(root)
        _check_space(root, int((spec.size or 0) * 2.2), spec.name)  # archive + unpacked files
        staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}.installing-", dir=root))
        archive = staging / "archive.zip"
        digest, size = _download(url or spec.url, archive, spec, progress, cancel, timeout)
        if spec.size is not None and size != spec.size:
            raise ModelCorruptError(f"the {spec.name} archive is {size} bytes, expected "
                                    f"{spec.size}: the download is damaged; try again")
        if spec.sha256 is not None and digest != spec.sha256.lower():
            raise ModelCorruptError(f"the {spec.name} archive does not match its published "
                                    f"checksum (got {digest[:12]}…); not installed")
        unpacked = staging / spec.name
        files = _unpack(archive, unpacked, spec, progress, cancel)
        archive.unlink()
        report = _verify_models(unpacked, spec, files, progress, cancel)
        report.bytes, report.sha256 = size, digest
        report.checksum_verified = spec.sha256 is not None
        write_manifest(unpacked, _manifest(spec, url or spec.url, report, unpacked))
        cancel.raise_if_cancelled()
        _move_into_place(unpacked, target, staging)
        report.path = target
        report.seconds = time.monotonic() - t0
        progress(Progress("done", 1, 1, f"installed {spec.name}"))
        return report
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise ModelDownloadError(
                f"the disk is full: not enough space in {root} to install {spec.name}") from exc
        raise ModelDownloadError(f"could not install {spec.name} in {root}: {exc}") from exc
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _sweep_stale(root: Path) -> None:
    """Remove temp folders that a crashed or killed install left behind."""
    now = time.time()
    for folder in root.glob(".*.installing-*"):
        try:
            if now - folder.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def _check_space(root: Path, needed: int, name: str) -> None:
    free = shutil.disk_usage(root).free
    if needed and free < needed:
        raise ModelDownloadError(
            f"not enough disk space to install {name}: it needs about {needed >> 20} MB "
            f"in {root}, {free >> 20} MB are free")


def _network_error(name: str, url: str, exc: BaseException) -> ModelDownloadError:
    host = urllib.parse.urlsplit(url).netloc or url
    if isinstance(exc, urllib.error.HTTPError):
        return ModelDownloadError(f"could not download {name}: {host} answered "
                                  f"{exc.code} {exc.reason} for {url}")
    reason = getattr(exc, "reason", None) or exc
    return ModelDownloadError(f"could not download {name} from {host} ({reason}); check the "
                              f"internet connection, or pass --url to use a mirror")


def _tls_context() -> ssl.SSLContext:
    # certifi's CA bundle (installed with requests) works where the OS store is missing,
    # e.g. python.org builds on macOS and frozen apps; else the system's defaults.
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


# Hosts that a download starting at the key may be redirected to (over HTTPS only).
REDIRECT_HOSTS: dict[str, frozenset[str]] = {
    "github.com": frozenset({"objects.githubusercontent.com",
                             "release-assets.githubusercontent.com"}),
}


def check_redirect(from_url: str, to_url: str) -> None:
    """Refuse (ModelDownloadError) a redirect to plain HTTP or to an unexpected host."""
    old, new = urllib.parse.urlsplit(from_url), urllib.parse.urlsplit(to_url)
    same_origin = (old.scheme, old.netloc.lower()) == (new.scheme, new.netloc.lower())
    if same_origin and new.scheme in ("http", "https"):
        return
    if new.scheme != "https":
        raise ModelDownloadError(
            f"the download server {old.netloc} redirected to a plain-HTTP address "
            f"({new.scheme}://{new.netloc}); refused: the download would not be private")
    allowed = REDIRECT_HOSTS.get((old.hostname or "").lower(), frozenset())
    if (new.hostname or "").lower() not in allowed or new.port not in (None, 443):
        raise ModelDownloadError(
            f"the download server {old.netloc} redirected to another host ({new.netloc}); "
            "refused. Pass --url with the file's direct address if you trust that host")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirect handling, with every hop checked by check_redirect."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int,
                         msg: str, headers: Any, newurl: str) -> urllib.request.Request | None:
        try:
            check_redirect(req.full_url, urllib.parse.urljoin(req.full_url, newurl))
        except ModelDownloadError:
            fp.close()
            raise
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(request: urllib.request.Request, timeout: float) -> Any:
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=_tls_context()), _CheckedRedirects())
    return opener.open(request, timeout=timeout)


def _write(out: IO[bytes], chunk: bytes) -> None:
    out.write(chunk)


def _download(url: str, dest: Path, spec: PackSpec, progress: ProgressCallback,
              cancel: CancelToken, timeout: float) -> tuple[str, int]:
    """Stream `url` into `dest`; return (sha256 hex, size). Checks the cancel token per chunk."""
    limit = spec.size or MAX_ARCHIVE_BYTES
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    cancel.raise_if_cancelled()
    try:
        response = _open(request, timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _network_error(spec.name, url, exc) from exc
    digest = hashlib.sha256()
    done = 0
    with response, dest.open("wb") as out:
        announced = int(response.headers.get("Content-Length") or 0)
        if announced > limit:
            raise ModelDownloadError(f"the server offers {announced} bytes for {spec.name}, "
                                     f"more than the expected {limit}; not downloaded")
        total = announced or spec.size
        progress(Progress("download", 0, total, f"downloading {spec.name}"))
        while True:
            cancel.raise_if_cancelled()
            try:
                chunk = response.read(CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise ModelDownloadError(
                    f"the download of {spec.name} was interrupted after {done >> 20} MB "
                    f"({exc or type(exc).__name__}); try again") from exc
            if not chunk:
                break
            done += len(chunk)
            if done > limit:
                raise ModelDownloadError(f"the download of {spec.name} is larger than the "
                                         f"expected {limit} bytes; stopped")
            digest.update(chunk)
            _write(out, chunk)
            progress(Progress("download", done, total, f"downloading {spec.name}"))
    if announced and done < announced:
        raise ModelDownloadError(f"the download of {spec.name} ended early ({done} of "
                                 f"{announced} bytes); try again")
    return digest.hexdigest(), done


def _unpack(archive: Path, dest: Path, spec: PackSpec, progress: ProgressCallback,
            cancel: CancelToken) -> list[str]:
    """Extract the archive's .onnx files (flattened) into `dest`, checking every CRC."""
    bad = f"the {spec.name} archive is damaged or incomplete"
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelCorruptError(f"{bad} (not a readable zip: {exc})") from exc
    with zf:
        members: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            name = info.filename.replace("\\", "/")
            parts = name.split("/")
            if name.startswith("/") or ".." in parts or stat.S_ISLNK(info.external_attr >> 16):
                raise ModelCorruptError(f"the {spec.name} archive holds an unsafe entry: "
                                        f"{info.filename!r}; not installed")
            base = parts[-1]
            if info.is_dir() or not base.endswith(".onnx") or base.startswith(".") \
                    or "__MACOSX" in parts:
                continue
            if base in members:
                raise ModelCorruptError(f"the {spec.name} archive holds {base} twice")
            members[base] = info
        missing = sorted(set(spec.files) - set(members))
        if missing:
            raise ModelCorruptError(f"{bad}: it lacks {', '.join(missing)}")
        unpacked = sum(i.file_size for i in members.values())
        if unpacked > MAX_UNPACK_RATIO * max(archive.stat().st_size, 1 << 20):
            raise ModelCorruptError(f"the {spec.name} archive unpacks to {unpacked} bytes, "
                                    "far more than it should; not installed")
        _check_space(dest.parent, unpacked, spec.name)
        dest.mkdir()
        for n, (base, info) in enumerate(sorted(members.items())):
            cancel.raise_if_cancelled()
            progress(Progress("unpack", n, len(members), f"unpacking {base}"))
            try:
                with zf.open(info) as src, (dest / base).open("wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)  # zipfile checks the CRC at the end
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise ModelCorruptError(f"{bad} ({base}: {exc})") from exc
        progress(Progress("unpack", len(members), len(members), "unpacked"))
    return sorted(members)


def _verify_models(folder: Path, spec: PackSpec, files: list[str], progress: ProgressCallback,
                   cancel: CancelToken) -> InstallReport:
    """Load every .onnx once through insightface's router; the pack needs both roles."""
    report = InstallReport(spec.name, folder, files=files)
    tasks: dict[str, str] = {}
    for n, name in enumerate(files):
        cancel.raise_if_cancelled()
        progress(Progress("verify", n, len(files), f"checking {name}"))
        model: Any = route_file(folder / name, device="cpu", threads=1)
        task = getattr(model, "taskname", None) or "unknown"
        tasks[name] = task
        if task == "detection" and getattr(model, "use_kps", False) and (
                not report.detection or name == spec.detection):
            report.detection = name
        elif task == "recognition" and (not report.recognition or name == spec.recognition):
            report.recognition, report.embedding_dim = name, embedding_dim(model)
        del model  # free each session before loading the next
    progress(Progress("verify", len(files), len(files), "checked"))
    for role, expected, got in (("detector", spec.detection, report.detection),
                                ("recognizer", spec.recognition, report.recognition)):
        if got != expected:
            raise ModelCorruptError(
                f"the {spec.name} archive's {expected} is not a usable face {role} "
                f"(insightface reads it as {tasks.get(expected, 'missing')!r}); not installed")
    return report


def _manifest(spec: PackSpec, url: str, report: InstallReport, folder: Path) -> dict[str, Any]:
    return {
        "pack": spec.name,
        "source": url,
        "archive_sha256": report.sha256,
        "archive_checksum_verified": report.checksum_verified,
        "installed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "detection": report.detection,
        "recognition": report.recognition,
        "embedding_dim": report.embedding_dim,
        "licence": "insightface models: non-commercial research use only",
        "files": {
            name: {"sha256": sha256_file(folder / name), "size": (folder / name).stat().st_size}
            for name in report.files
        },
    }


def _move_into_place(unpacked: Path, target: Path, staging: Path) -> None:
    """Atomically make `unpacked` the pack folder; an old copy is swapped out, then removed."""
    old = staging / "previous"
    had_old = target.exists()
    if had_old:
        target.rename(old)
    try:
        unpacked.rename(target)
    except OSError:
        if had_old:
            old.rename(target)  # put the working pack back
        raise
