"""Privacy: the offline flows open no network connection; the model download refuses
redirects to plain HTTP or to other hosts.

The flows run in a subprocess whose `sitecustomize` installs an audit hook: every
`socket.connect` to an internet address and every name lookup is logged and refused.
Audit events are raised by CPython's socket module itself, so no Python code path can
slip past (native libraries that open sockets in C would; none of ours does).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.errors import IdfsrError
from core.models.catalog import PackSpec
from core.models.download import ModelDownloadError, check_redirect, install_pack

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent

NETGUARD = '''
import json, os, socket, sys

_LOG = os.environ["IDFSR_NET_LOG"]


def _record(event, detail):
    with open(_LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"event": event, "detail": repr(detail)}) + "\\n")


def _guard(event, args):
    if event == "socket.connect":
        sock, address = args
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            _record(event, address)
            raise PermissionError("network access is blocked in this test")
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                   "socket.gethostbyname_ex"):
        _record(event, args[:2] if event == "socket.getaddrinfo" else args)
        raise PermissionError("name lookups are blocked in this test")
    elif event in ("socket.sendto", "socket.sendmsg"):
        _record(event, args[1:])
        raise PermissionError("network access is blocked in this test")


sys.addaudithook(_guard)
'''

CONTROL = """
import socket
try:
    socket.create_connection(("example.com", 80), timeout=1)  # a name lookup first
except PermissionError:
    pass
with socket.socket() as s:
    try:
        s.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed anyway
    except PermissionError:
        pass
"""


@pytest.fixture
def guarded_env(tmp_path: Path) -> dict[str, str]:
    guard = tmp_path / "netguard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NETGUARD, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(guard), str(REPO), str(TESTS)])
    env["IDFSR_NET_LOG"] = str(tmp_path / "net.log")
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "DIFFUSERS_OFFLINE"):
        env.pop(var, None)  # the flows must be offline by themselves, not by a switch
    return env


def _net_log(env: dict[str, str]) -> list[dict[str, str]]:
    path = Path(env["IDFSR_NET_LOG"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_the_guard_catches_a_connection(guarded_env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-c", CONTROL], env=guarded_env, check=True, timeout=60)
    events = [e["event"] for e in _net_log(guarded_env)]
    assert events == ["socket.getaddrinfo", "socket.connect"]


def test_offline_flows_open_no_connection(guarded_env: dict[str, str], tmp_path: Path) -> None:
    home, work, out = tmp_path / "home", tmp_path / "work", tmp_path / "flow.json"
    work.mkdir()
    proc = subprocess.run([sys.executable, str(TESTS / "offline_flow.py"), str(home), str(work),
                           str(out)], env=guarded_env, capture_output=True, text=True,
                          timeout=600, cwd=work, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text("utf-8"))
    assert report["failed"] is None, report["failed"]
    ran = [" ".join(s["argv"][:2]) for s in report["steps"]]
    for needed in ("library add", "index --json", "people rename", "people merge",
                   "people reject", "people recluster", "data prepare", "people fit",
                   "restore", "people forget", "faces wipe"):
        assert any(r.startswith(needed) for r in ran), (needed, ran)
    assert all("traceback" not in s for s in report["steps"])
    assert _net_log(guarded_env) == [], "the offline flows tried the network"


# ---- the model download: redirects -------------------------------------------------------

@pytest.mark.parametrize(("start", "target"), [
    ("http://127.0.0.1:8000/a.zip", "http://127.0.0.1:8000/b.zip"),
    ("https://mirror.example/a.zip", "https://mirror.example/pub/a.zip"),
    ("https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip",
     "https://objects.githubusercontent.com/github-production-release-asset/x"),
    ("https://github.com/x.zip", "https://release-assets.githubusercontent.com/x"),
])
def test_allowed_redirects(start: str, target: str) -> None:
    check_redirect(start, target)


@pytest.mark.parametrize(("start", "target", "why"), [
    ("https://github.com/x.zip", "http://github.com/x.zip", "plain-HTTP"),
    ("https://github.com/x.zip", "http://objects.githubusercontent.com/x", "plain-HTTP"),
    ("https://github.com/x.zip", "https://evil.example/x.zip", "another host"),
    ("https://github.com/x.zip", "https://objects.githubusercontent.com:8443/x", "another host"),
    ("https://mirror.example/a.zip", "https://objects.githubusercontent.com/x", "another host"),
    ("http://127.0.0.1:8000/a.zip", "http://127.0.0.1:8001/a.zip", "plain-HTTP"),
    ("http://127.0.0.1:8000/a.zip", "http://localhost:8000/a.zip", "plain-HTTP"),
    ("https://github.com/x.zip", "ftp://github.com/x.zip", "plain-HTTP"),
    ("https://github.com/x.zip", "file:///etc/passwd", "plain-HTTP"),
])
def test_refused_redirects(start: str, target: str, why: str) -> None:
    with pytest.raises(ModelDownloadError, match=why):
        check_redirect(start, target)


def spec_for(body: bytes, url: str) -> PackSpec:
    files = ("det_10g.onnx", "w600k_r50.onnx", "2d106det.onnx", "genderage.onnx")
    return PackSpec("buffalo_l", url, len(body), hashlib.sha256(body).hexdigest(),
                    "det_10g.onnx", "w600k_r50.onnx", files, description="test pack")


class _Hits:
    def __init__(self) -> None:
        self.paths: list[str] = []


def _serve(routes: dict[str, tuple[int, dict[str, str], bytes]], hits: _Hits
           ) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            hits.paths.append(self.path)
            status, headers, body = routes.get(self.path, (404, {}, b""))
            self.send_response(status)
            for k, v in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture
def two_servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[dict, _Hits, str, dict,
                                                                   _Hits, str]]:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    routes_a: dict = {}
    routes_b: dict = {}
    hits_a, hits_b = _Hits(), _Hits()
    a, base_a = _serve(routes_a, hits_a)
    b, base_b = _serve(routes_b, hits_b)
    yield routes_a, hits_a, base_a, routes_b, hits_b, base_b
    for httpd in (a, b):
        httpd.shutdown()
        httpd.server_close()


def test_download_follows_same_host_redirects_and_verifies(two_servers, tmp_path: Path
                                                           ) -> None:
    from insightface_fakes import pack_zip, write_pack

    routes_a, hits_a, base_a, *_ = two_servers
    archive = pack_zip(write_pack(tmp_path / "pack" / "buffalo_l"))
    routes_a["/old.zip"] = (302, {"Location": "/new.zip"}, b"")
    routes_a["/new.zip"] = (200, {}, archive)
    report = install_pack(tmp_path / "models", spec_for(archive, base_a + "/old.zip"))
    assert report.checksum_verified and hits_a.paths == ["/old.zip", "/new.zip"]
    # The same redirect to a file that is not the published one: refused by its checksum.
    routes_a["/new.zip"] = (200, {}, archive[:-1] + bytes([archive[-1] ^ 0xFF]))
    with pytest.raises(IdfsrError, match="checksum|damaged"):
        install_pack(tmp_path / "models2", spec_for(archive, base_a + "/old.zip"))


def test_download_refuses_a_redirect_to_another_host(two_servers, tmp_path: Path) -> None:
    routes_a, hits_a, base_a, routes_b, hits_b, base_b = two_servers
    routes_a["/pack.zip"] = (302, {"Location": base_b + "/pack.zip"}, b"")
    routes_b["/pack.zip"] = (200, {}, b"whatever")
    with pytest.raises(ModelDownloadError, match="redirected to .*refused"):
        install_pack(tmp_path / "models", spec_for(b"whatever", base_a + "/pack.zip"))
    assert hits_a.paths == ["/pack.zip"]
    assert hits_b.paths == [], "the other host was contacted"
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").rglob("*.onnx"))
