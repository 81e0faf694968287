"""Installing model packs from a local HTTP server: all or nothing, never the internet."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from insightface_fakes import pack_zip, write_pack

from core.errors import JobCancelled, ModelCorruptError
from core.faces.insightface_backend import InsightFaceBackend
from core.jobs import CancelToken, Progress
from core.models import catalog, download
from core.models.catalog import PackSpec
from core.models.download import ModelDownloadError, install_pack
from core.models.insightface_pack import MANIFEST, find_pack, packs_root

FILES = ("det_10g.onnx", "w600k_r50.onnx", "2d106det.onnx", "genderage.onnx")


@dataclass
class Route:
    body: bytes
    status: int = 200
    length: int | None = None  # announce another Content-Length (to cut the body short)
    delay: float = 0.0  # seconds between 4 kB chunks


@dataclass
class Server:
    base: str
    routes: dict[str, Route] = field(default_factory=dict)

    def serve(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.base + path


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    routes: dict[str, Route] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            route = routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(route.status)
            self.send_header("Content-Length", str(route.length or len(route.body)))
            self.end_headers()
            try:
                for i in range(0, len(route.body), 4096):
                    self.wfile.write(route.body[i:i + 4096])
                    if route.delay:
                        time.sleep(route.delay)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading (cancel): fine
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    srv = Server(f"http://127.0.0.1:{httpd.server_address[1]}", routes)
    yield srv
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return pack_zip(write_pack(tmp_path_factory.mktemp("pack") / "buffalo_l"))


def spec_for(body: bytes, url: str, **changes: object) -> PackSpec:
    spec = PackSpec("buffalo_l", url, len(body), hashlib.sha256(body).hexdigest(),
                    "det_10g.onnx", "w600k_r50.onnx", FILES, description="test pack")
    return replace(spec, **changes)  # type: ignore[arg-type]


def assert_nothing_installed(models: Path) -> None:
    root = packs_root(models)
    leftovers = sorted(p.name for p in root.iterdir()) if root.exists() else []
    assert leftovers == [], leftovers


def test_good_archive_installs_atomically(tmp_path: Path, server: Server, archive: bytes) -> None:
    models = tmp_path / "models"
    url = server.serve("/buffalo_l.zip", Route(archive))
    target = packs_root(models) / "buffalo_l"
    seen: list[tuple[str, bool]] = []

    def progress(p: Progress) -> None:
        seen.append((p.stage, target.exists()))

    report = install_pack(models, spec_for(archive, url), progress=progress)
    assert report.checksum_verified and report.sha256 == hashlib.sha256(archive).hexdigest()
    assert (report.detection, report.recognition, report.embedding_dim) == (
        "det_10g.onnx", "w600k_r50.onnx", 64)
    # The pack folder appears in one step, at the very end.
    assert {s for s, _ in seen} >= {"download", "unpack", "verify", "done"}
    assert not any(exists for stage, exists in seen if stage != "done")
    assert sorted(p.name for p in packs_root(models).iterdir()) == ["buffalo_l"]
    manifest = json.loads((target / MANIFEST).read_text())
    assert set(manifest["files"]) == set(FILES)
    pack = find_pack(models, "buffalo_l")
    assert pack is not None and pack.recognition == "w600k_r50.onnx"
    # What was installed loads as a backend, its checksums verified from the manifest.
    backend = InsightFaceBackend(target, device="cpu", threads=1)
    assert backend.model_id.endswith(manifest["files"]["w600k_r50.onnx"]["sha256"][:8])
    # A second get does nothing; --force reinstalls in place.
    assert install_pack(models, spec_for(archive, url)).already_installed
    assert not install_pack(models, spec_for(archive, url), force=True).already_installed
    assert sorted(p.name for p in packs_root(models).iterdir()) == ["buffalo_l"]


def test_archive_with_a_top_folder_and_a_mirror_url(tmp_path: Path, server: Server,
                                                    archive: bytes) -> None:
    nested = pack_zip(write_pack(tmp_path / "src"), prefix="buffalo_l/")
    mirror = server.serve("/mirror/b.zip", Route(nested))
    spec = spec_for(nested, server.base + "/nowhere.zip")
    install_pack(tmp_path / "models", spec, url=mirror)
    assert sorted(find_pack(tmp_path / "models", "buffalo_l").onnx_files) == sorted(FILES)  # type: ignore[union-attr]


def test_checksum_mismatch_installs_nothing(tmp_path: Path, server: Server,
                                            archive: bytes) -> None:
    url = server.serve("/a.zip", Route(archive))
    with pytest.raises(ModelCorruptError, match="checksum"):
        install_pack(tmp_path / "models", spec_for(archive, url, sha256="0" * 64))
    assert_nothing_installed(tmp_path / "models")


def test_truncated_archive_installs_nothing(tmp_path: Path, server: Server,
                                           archive: bytes) -> None:
    cut = archive[: len(archive) // 2]
    # Without a published checksum, the zip's own structure catches it.
    url = server.serve("/cut.zip", Route(cut))
    with pytest.raises(ModelCorruptError, match="damaged or incomplete"):
        install_pack(tmp_path / "models", spec_for(cut, url, sha256=None))
    assert_nothing_installed(tmp_path / "models")
    # A connection that ends before the announced length is a clear network error.
    url = server.serve("/short.zip", Route(cut, length=len(archive)))
    with pytest.raises(ModelDownloadError, match="interrupted|ended early"):
        install_pack(tmp_path / "models", spec_for(archive, url))
    assert_nothing_installed(tmp_path / "models")


def test_corrupt_member_fails_its_crc(tmp_path: Path, server: Server, archive: bytes) -> None:
    bad = bytearray(archive)
    middle = archive.index(b"w600k_r50.onnx") + 200  # inside that member's data
    bad[middle:middle + 64] = bytes(64)
    url = server.serve("/bad.zip", Route(bytes(bad)))
    with pytest.raises(ModelCorruptError, match="damaged"):
        install_pack(tmp_path / "models", spec_for(bytes(bad), url, sha256=None))
    assert_nothing_installed(tmp_path / "models")


def test_archive_missing_a_file_or_with_a_broken_model(tmp_path: Path, server: Server) -> None:
    src = write_pack(tmp_path / "src")
    (src / "genderage.onnx").unlink()
    short = pack_zip(src)
    url = server.serve("/short.zip", Route(short))
    with pytest.raises(ModelCorruptError, match="lacks genderage.onnx"):
        install_pack(tmp_path / "models", spec_for(short, url))
    (src / "genderage.onnx").write_bytes(b"not an onnx model")
    broken = pack_zip(src)
    url = server.serve("/broken.zip", Route(broken))
    with pytest.raises(ModelCorruptError, match="genderage.onnx"):
        install_pack(tmp_path / "models", spec_for(broken, url))
    assert_nothing_installed(tmp_path / "models")


def test_cancel_mid_download_leaves_nothing(tmp_path: Path, server: Server,
                                           archive: bytes) -> None:
    url = server.serve("/slow.zip", Route(archive, delay=0.01))
    token = CancelToken()

    def progress(p: Progress) -> None:
        if p.stage == "download" and p.done > 0:
            token.cancel()

    with pytest.raises(JobCancelled):
        install_pack(tmp_path / "models", spec_for(archive, url), progress=progress,
                     cancel=token)
    assert_nothing_installed(tmp_path / "models")


def test_network_errors_are_clear(tmp_path: Path, server: Server, archive: bytes) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ModelDownloadError, match=rf"could not download buffalo_l from "
                                                 rf"127\.0\.0\.1:{port} .*connection"):
        install_pack(tmp_path / "models", spec_for(archive, f"http://127.0.0.1:{port}/x.zip"))
    with pytest.raises(ModelDownloadError, match="answered 404"):
        install_pack(tmp_path / "models", spec_for(archive, server.base + "/missing.zip"))
    assert_nothing_installed(tmp_path / "models")


def test_size_limit_and_disk_space(tmp_path: Path, server: Server, archive: bytes,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url = server.serve("/big.zip", Route(archive))
    with pytest.raises(ModelDownloadError, match="more than the expected"):
        install_pack(tmp_path / "models", spec_for(archive, url, size=1000))
    usage = download.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(download.shutil, "disk_usage",
                        lambda p: usage._replace(free=10))
    with pytest.raises(ModelDownloadError, match="not enough disk space"):
        install_pack(tmp_path / "models", spec_for(archive, url))
    monkeypatch.undo()
    for var in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(var, raising=False)

    def disk_full(out: object, chunk: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(download, "_write", disk_full)
    with pytest.raises(ModelDownloadError, match="disk is full"):
        install_pack(tmp_path / "models", spec_for(archive, url))
    assert_nothing_installed(tmp_path / "models")


# ---- the CLI ------------------------------------------------------------------------

@pytest.fixture
def cli_pack(server: Server, archive: bytes, monkeypatch: pytest.MonkeyPatch) -> str:
    """The catalog's buffalo_l, pointed at the local server with the test archive's checksum."""
    url = server.serve("/buffalo_l.zip", Route(archive))
    monkeypatch.setitem(catalog.PACKS, "buffalo_l", spec_for(archive, url))
    return url


def idfsr(*args: str, input: str | None = None) -> object:
    from core.cli import main

    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_cli_get_shows_the_licence_and_asks(isolated_home: Path, cli_pack: str) -> None:
    out = idfsr("models", "get", "buffalo_l", input="n\n")
    assert out.exit_code != 0  # type: ignore[attr-defined]
    assert "NON-COMMERCIAL" in out.output  # type: ignore[attr-defined]
    assert find_pack(isolated_home / "models", "buffalo_l") is None
    out = idfsr("models", "get", "buffalo_l", input="y\n")
    assert out.exit_code == 0, out.output  # type: ignore[attr-defined]
    assert "installed buffalo_l" in out.output  # type: ignore[attr-defined]
    assert find_pack(isolated_home / "models", "buffalo_l") is not None


def test_cli_get_json_and_list(isolated_home: Path, cli_pack: str) -> None:
    out = idfsr("models", "get", "buffalo_l", "--yes", "--json")
    assert out.exit_code == 0, out.output  # type: ignore[attr-defined]
    report = json.loads(out.stdout)  # type: ignore[attr-defined]
    assert report["pack"] == "buffalo_l" and report["checksum_verified"] is True
    listed = json.loads(idfsr("models", "list", "--json").stdout)  # type: ignore[attr-defined]
    assert listed["face_backend"] == "auto" and listed["active"] == "insightface/buffalo_l"
    rows = {r["name"]: r for r in listed["models"]}
    assert rows["buffalo_l"]["installed"] and rows["buffalo_l"]["active"]
    assert rows["embedded"]["installed"] and not rows["embedded"]["active"]
    assert not rows["antelopev2"]["installed"]
    text = idfsr("--face-backend", "embedded", "models", "list").output  # type: ignore[attr-defined]
    assert "active: embedded" in text


def test_cli_errors_are_one_line(isolated_home: Path, server: Server, archive: bytes,
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from core.cli import entry

    def run(*args: str) -> str:
        monkeypatch.setattr("sys.argv", ["idfsr", *args])
        with pytest.raises(SystemExit) as exit_info:
            entry()
        assert exit_info.value.code == 1
        err = capsys.readouterr().err.strip()
        assert "Traceback" not in err
        return err.splitlines()[-1]

    assert run("models", "get", "nope", "--yes").startswith(
        "error: unknown model pack 'nope'; known packs: antelopev2, buffalo_l")
    monkeypatch.setitem(catalog.PACKS, "buffalo_l",
                        spec_for(archive, server.base + "/missing.zip"))
    assert run("models", "get", "buffalo_l", "--yes").startswith(
        "error: could not download buffalo_l: 127.0.0.1")
    assert_nothing_installed(isolated_home / "models")
