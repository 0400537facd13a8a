"""Comparing the knowledge folder with the manifest: which files are new, changed, unchanged or gone.

Needs no model, so the watcher can reconcile the folder without loading the embedder.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .files import refusal
from .loaders import file_sha256
from .manifest import FileRecord, Manifest

log = logging.getLogger(__name__)
IGNORED_SUFFIXES = (".part", ".crdownload", ".tmp", ".swp", ".download", ".partial")


def is_ignored(name: str) -> bool:
    """Hidden files and the temporary files of editors and browsers are never indexed."""
    return name.startswith((".", "~$")) or name.lower().endswith(IGNORED_SUFFIXES)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # gone since the walk: the job will find that out
        return 0


@dataclass
class FileResult:
    source: str
    action: str  # new | changed | unchanged | deleted | failed | skipped
    chunks: int = 0
    error: str = ""
    seconds: float = 0.0  # until it was indexed: every chunk stored with its vector
    note: str = ""  # indexed, but something the user should know (e.g. pages without text)
    text_seconds: float = 0.0  # until its text was keyword-searchable (before its vectors were stored)


@dataclass
class Plan:
    """What a folder scan found, compared with the manifest."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[FileResult] = field(default_factory=list)
    failed: list[FileResult] = field(default_factory=list)  # failed before and unchanged since: not retried
    sizes: dict[str, int] = field(default_factory=dict)  # bytes of each file to index

    @property
    def to_index(self) -> list[str]:
        """New and changed files, smallest first: a batch with a 1,000-page manual in it makes the small
        files searchable in seconds rather than after the manual."""
        return sorted(self.new + self.changed, key=lambda source: (self.sizes.get(source, 0), source))


class FolderScanner:
    """Walks the knowledge folder and diffs it against the manifest; hashes only files whose size or mtime moved."""

    def __init__(self, knowledge_dir: Path | str, manifest: Manifest, suffixes: tuple[str, ...]):
        self.root = Path(knowledge_dir)
        self.manifest = manifest
        self.suffixes = tuple(sorted(suffixes))

    def source_of(self, path: Path | str) -> str:
        """The manifest key of a file: its path under the knowledge folder, POSIX style, NFC."""
        relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(self.root))
        return unicodedata.normalize("NFC", relative.as_posix())

    def path_of(self, source: str) -> Path:
        return self.root / source

    def files(self) -> Iterable[Path]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not is_ignored(name):
                    yield Path(dirpath) / name

    def plan(self) -> Plan:
        """Compare the folder with the manifest; hashes only files whose size or mtime moved."""
        plan, known, seen = Plan(), self.manifest.all(), set()
        self.root.mkdir(parents=True, exist_ok=True)
        for path in self.files():
            source = self.source_of(path)
            refused = self.refusal(path)
            if refused:  # not seen: whatever was indexed under this name is removed
                log.warning("not indexing %s: %s", source, refused, extra={"source": source})
                plan.skipped.append(FileResult(source, "failed", error=refused))
                continue
            seen.add(source)
            if path.suffix.lower() not in self.suffixes:
                plan.skipped.append(FileResult(source, "skipped", error=self.unsupported(path)))
                continue
            record = known.get(source)
            if record is None:
                plan.new.append(source)
            elif not self.same_file(path, record):
                plan.changed.append(source)
            elif record.status != "indexed":
                plan.failed.append(FileResult(source, "failed", error=record.error))
            else:
                plan.unchanged.append(source)
        for source in plan.to_index:
            plan.sizes[source] = _size(self.path_of(source))
        plan.deleted = sorted(set(known) - seen)
        return plan

    def refusal(self, path: Path) -> str | None:
        """Why a folder entry must not be read (a FIFO, a device, a link leading outside), or None."""
        return refusal(path, self.root)

    def unsupported(self, path: Path) -> str:
        return f"unsupported file type '{path.suffix or '(none)'}'; supported: {', '.join(self.suffixes)}"

    def same_file(self, path: Path, record: FileRecord) -> bool:
        stat = path.stat()
        if stat.st_size == record.size and stat.st_mtime_ns == record.mtime_ns:
            return True
        if stat.st_size != record.size or file_sha256(path) != record.sha256:
            return False
        # same bytes, new mtime (touched or copied again): remember the mtime, embed nothing
        self.manifest.put(FileRecord(**{**record.__dict__, "mtime_ns": stat.st_mtime_ns}))
        return True

