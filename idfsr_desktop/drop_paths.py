"""What a drop of files on the app holds: the local photos and folders among its URLs."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote_to_bytes

from PySide6.QtCore import QMimeData, QUrl

from core.library.imageio import suffix_supported


def local_path(url: QUrl) -> Path:
    """The file a file:// URL names. A name that is not UTF-8 (possible on Linux) arrives
    percent-encoded; Qt's decoding would replace its bytes, so they are decoded here."""
    path = Path(url.toLocalFile())
    if not path.exists() and os.name == "posix":
        raw = url.path(QUrl.ComponentFormattingOption.FullyEncoded)
        path = Path(os.fsdecode(unquote_to_bytes(raw)))
    return path


def dropped_paths(mime: QMimeData) -> list[Path]:
    """The local photos and folders among dropped URLs (anything else is ignored)."""
    paths = []
    for url in mime.urls() if mime.hasUrls() else []:
        if not url.isLocalFile():
            continue
        path = local_path(url)
        if path.is_dir() or (path.is_file() and suffix_supported(path.name)):
            paths.append(path)
    return paths
