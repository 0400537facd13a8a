"""The knowledge folder as an API: safe uploads, listing with index status, deletes."""

from __future__ import annotations

import os
import tempfile
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from ..ingest.manifest import Manifest
from ..ingest.scanner import is_ignored

CHUNK = 1 << 20


class DocumentError(Exception):
    """A request the folder cannot honour; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class DocumentStatus:
    name: str
    size: int
    status: str  # queued | indexed | failed
    chunks: int = 0
    error: str = ""


# control characters (tabs, newlines, NUL), format characters (right-to-left overrides, zero-width
# marks) and line separators make a name that displays as something else, or breaks logs and shells
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
MAX_NAME_BYTES = 255


def plain_name(name: str) -> str:
    """`name` NFC-normalised, or DocumentError (400) if it is too long or holds characters that hide what it is."""
    name = unicodedata.normalize("NFC", name or "")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise DocumentError(400, f"file name is longer than {MAX_NAME_BYTES} bytes; give a shorter name")
    bad = sorted({f"U+{ord(ch):04X}" for ch in name if unicodedata.category(ch) in _UNSAFE_CATEGORIES})
    if bad:
        raise DocumentError(400, f"file name holds control or invisible characters ({', '.join(bad[:5])}); rename the file")
    return name


def safe_name(name: str, allowed_suffixes: tuple[str, ...]) -> str:
    """A plain file name inside the folder, or DocumentError: no paths, no hidden files, a known type."""
    name = plain_name((name or "").strip())
    if not name or "/" in name or "\\" in name or name in (".", "..") or ".." in name.split("/"):
        raise DocumentError(400, f"file name {name!r} is not allowed: give a plain name without folders")
    if is_ignored(name):
        raise DocumentError(400, f"file name {name!r} is not allowed (hidden or temporary)")
    suffix = Path(name).suffix.lower()
    if suffix not in allowed_suffixes:
        raise DocumentError(415, f"file type '{suffix or '(none)'}' is not supported; allowed: {', '.join(allowed_suffixes)}")
    return name


class DocumentFolder:
    """Writes uploads atomically (temp file, then rename) so the watcher never sees half a file."""

    def __init__(self, root: Path, manifest: Manifest, allowed_suffixes: tuple[str, ...], max_bytes: int):
        self.root, self.manifest = Path(root), manifest
        self.allowed, self.max_bytes = tuple(sorted(allowed_suffixes)), max_bytes

    def _inside(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if self.root.resolve() not in path.parents:
            raise DocumentError(400, f"file name {name!r} points outside the knowledge folder")
        return path

    def save(self, name: str, stream: BinaryIO, replace: bool = False) -> DocumentStatus:
        """Store an upload; an existing file of that name is a 409 unless `replace` is asked for."""
        name = safe_name(name, self.allowed)
        target = self._inside(name)
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=self.root)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while block := stream.read(CHUNK):
                    size += len(block)
                    if size > self.max_bytes:
                        raise DocumentError(413, f"{name} is larger than the {self.max_bytes // 2**20} MB upload limit")
                    out.write(block)
            if size == 0:
                raise DocumentError(400, f"{name} is empty")
            if replace:
                os.replace(tmp, target)
            else:
                try:  # a hard link never overwrites: of concurrent uploads of one name exactly one wins
                    os.link(tmp, target)
                except FileExistsError:
                    raise DocumentError(
                        409, f"{name} already exists; delete it first or upload with ?replace=true"
                    ) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return DocumentStatus(name, size, "queued")

    def list(self) -> list[DocumentStatus]:
        records = self.manifest.all()
        out = []
        for path in sorted(p for p in self.root.rglob("*") if p.is_file() and not is_ignored(p.name)):
            source = unicodedata.normalize("NFC", path.relative_to(self.root).as_posix())
            stat = path.stat()
            record = records.get(source)
            if record and record.size == stat.st_size and record.mtime_ns == stat.st_mtime_ns:
                out.append(DocumentStatus(source, stat.st_size, record.status, record.chunks, record.error))
            else:
                out.append(DocumentStatus(source, stat.st_size, "queued"))
        return out

    def delete(self, name: str) -> None:
        path = self._inside(plain_name(name))
        if not path.is_file():
            raise DocumentError(404, f"no document named {name!r}")
        path.unlink()

    @staticmethod
    def as_dict(status: DocumentStatus) -> dict:
        return asdict(status)
