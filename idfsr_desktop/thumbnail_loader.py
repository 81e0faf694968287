"""Loads thumbnails (of photos, of faces) off the GUI thread, newest request first, into a
small LRU of pixmaps.

Rows ask for their thumbnail when they are painted, so after a fast scroll the queue is
full of rows no longer on screen: workers take the newest request first and the queue
is bounded, dropping the oldest (a row that is painted again simply asks again).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QImageReader, QPixmap

from core.library.service import PhotoInfo

log = logging.getLogger(__name__)

MAX_PENDING = 256
CACHE_ENTRIES = 800  # ~100 KB each at the grid's size: a bounded, modest footprint

# An item (a PhotoInfo, a face id…) → its thumbnail file, or None when it has none.
ThumbnailSource = Callable[[Any], Path | None]
ThumbnailKey = Callable[[Any], str | None]


def photo_key(photo: PhotoInfo) -> str | None:
    """The cache key of a photo's thumbnail (None when it can have none)."""
    return None if photo.status == "error" else photo.content_hash


class _Relay(QObject):
    """Carries decoded images from a worker thread to the loader in the GUI thread."""

    loaded = Signal(str, QImage)
    unavailable = Signal(str)


class _DrainQueue(QRunnable):
    """One worker: decodes requests until the queue is empty."""

    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self._loader = loader

    def run(self) -> None:
        self._loader._drain()


class ThumbnailLoader(QObject):
    """Gives pixmaps for items (photos by default); asks `source` (a core call) for the file off
    the GUI thread. `key` names an item's thumbnail in the cache."""

    thumbnail_ready = Signal(str)  # the key whose pixmap is now cached (or is now unavailable)

    def __init__(
        self, source: ThumbnailSource, parent: QObject | None = None, *, threads: int = 2,
        key: ThumbnailKey = photo_key,
    ) -> None:
        super().__init__(parent)
        self._source = source
        self.key = key
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._threads = threads
        self._lock = threading.Lock()
        self._queue: OrderedDict[str, tuple[Any, QSize]] = OrderedDict()
        self._in_flight: set[str] = set()
        self._workers = 0
        self._stopped = False
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        self._failed: set[str] = set()
        self._relay = _Relay(self)  # parented: destroyed in the GUI thread, whoever drops it last
        self._relay.loaded.connect(self._on_loaded, Qt.ConnectionType.QueuedConnection)
        self._relay.unavailable.connect(self._on_unavailable, Qt.ConnectionType.QueuedConnection)

    def pixmap(self, photo: Any, size: QSize) -> QPixmap | None:
        """The cached pixmap, or None after queueing a load (`size` in device pixels)."""
        key = self.key(photo)
        if key is None or key in self._failed:
            return None
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        self._request(key, photo, size)
        return None

    def cached(self, photo: Any) -> QPixmap | None:
        """The cached pixmap, without asking for a load when there is none."""
        key = self.key(photo)
        return None if key is None else self._cache.get(key)

    def is_unavailable(self, photo: Any) -> bool:
        """Whether loading this photo's thumbnail was tried and failed."""
        key = self.key(photo)
        return key is None or key in self._failed

    def is_idle(self) -> bool:
        """Whether nothing is queued or being decoded."""
        with self._lock:
            return not self._queue and not self._in_flight

    def shutdown(self, timeout_ms: int = 3000) -> None:
        """Drop queued requests and wait (bounded) for the workers."""
        with self._lock:
            self._stopped = True
            self._queue.clear()
        self._pool.waitForDone(timeout_ms)

    def _request(self, key: str, photo: Any, size: QSize) -> None:
        with self._lock:
            if self._stopped or key in self._in_flight:
                return
            self._queue[key] = (photo, size)
            self._queue.move_to_end(key)  # newest last; workers pop from the end
            while len(self._queue) > MAX_PENDING:
                self._queue.popitem(last=False)
            start = self._workers < self._threads
            if start:
                self._workers += 1
        if start:
            self._pool.start(_DrainQueue(self))

    def _drain(self) -> None:
        """Worker loop (pool thread): decode the newest request until none is left."""
        while True:
            with self._lock:
                if self._stopped or not self._queue:
                    self._workers -= 1
                    return
                key, (photo, size) = self._queue.popitem(last=True)
                self._in_flight.add(key)
            image = self._decode(photo, size)
            if image is None:
                self._relay.unavailable.emit(key)
            else:
                self._relay.loaded.emit(key, image)

    def _decode(self, photo: Any, size: QSize) -> QImage | None:
        try:
            path = self._source(photo)
        except Exception:  # a cache problem must not take the grid down
            log.exception("thumbnail for %s failed", getattr(photo, "path", photo))
            return None
        if path is None:
            return None
        reader = QImageReader(str(path))
        reader.setAutoTransform(True)
        image = reader.read()
        if image.isNull():
            log.warning("unreadable thumbnail %s: %s", path, reader.errorString())
            return None
        # QImage (unlike QPixmap) may be scaled off the GUI thread.
        return image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                            Qt.TransformationMode.SmoothTransformation)

    @Slot(str, QImage)
    def _on_loaded(self, key: str, image: QImage) -> None:
        with self._lock:
            self._in_flight.discard(key)
        self._cache[key] = QPixmap.fromImage(image)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)
        self.thumbnail_ready.emit(key)

    @Slot(str)
    def _on_unavailable(self, key: str) -> None:
        with self._lock:
            self._in_flight.discard(key)
        self._failed.add(key)
        self.thumbnail_ready.emit(key)
