"""Reading the knowledge folder safely: only regular files inside it, and never more bytes than they hold.

`os.walk` lists FIFOs, devices and links to anywhere; `open()` follows links and blocks on a FIFO, and
`st_size` is 0 for devices. Everything that reads a file of the folder goes through here.
"""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import LoadError

_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def refusal(path: Path | str, root: Path | str) -> str | None:
    """Why `path` must not be read, or None for a regular file that stays inside `root` once links are resolved."""
    try:
        if not _inside(os.path.realpath(path), os.path.realpath(root)):
            return "a link that leads outside the knowledge folder; copy the file into the folder instead"
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "file vanished (or is a broken link)"
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"
    return None if stat.S_ISREG(mode) else _not_regular(mode)


def _not_regular(mode: int) -> str:
    return f"{_KINDS.get(stat.S_IFMT(mode), 'a special file')}, not a regular file; only regular files are indexed"


@contextmanager
def open_regular(path: Path | str) -> Iterator[tuple[BinaryIO, int]]:
    """The open file and its size; `LoadError` for anything but a regular file. Never blocks on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise LoadError(_not_regular(info.st_mode))
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle, info.st_size


def read_regular(path: Path | str) -> bytes:
    """All bytes of a regular file, at most as many as it held when opened (a file growing meanwhile is cut there)."""
    with open_regular(path) as (handle, size):
        return handle.read(size)


def iter_blocks(path: Path | str, block: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of a regular file in blocks, bounded by its size when opened."""
    with open_regular(path) as (handle, size):
        left = size
        while left > 0:
            data = handle.read(min(block, left))
            if not data:
                return
            left -= len(data)
            yield data
