"""Watches the plugins folder and calls back, debounced, when a plugin file is added, changed or removed."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)


class PluginWatcher(FileSystemEventHandler):
    """One callback per burst of file events (an editor's save is several events)."""

    def __init__(self, folder: Path | str, on_change: Callable[[], None], debounce_s: float = 0.25):
        self.folder, self.on_change, self.debounce_s = Path(folder), on_change, debounce_s
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._observer = None
        self._stopped = False

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path] + ([event.dest_path] if getattr(event, "dest_path", "") else [])
        if not any(_is_plugin_file(os.fsdecode(p)) for p in paths):
            return
        with self._lock:
            if self._stopped:
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.debounce_s, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        try:
            self.on_change()
        except Exception:  # the watcher must survive a reload that went wrong
            log.exception("plugin reload failed", extra={"folder": str(self.folder)})

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._observer = Observer()
        self._observer.schedule(self, str(self.folder), recursive=False)
        self._observer.daemon = True
        self._observer.start()
        log.info("watching %s for plugin changes", self.folder)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._timer is not None:
                self._timer.cancel()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)


def _is_plugin_file(path: str) -> bool:
    name = Path(path).name
    return name.endswith(".py") and not name.startswith(("_", "."))
