"""Plugin discovery: the files of the plugins folder, and entry points of installed packages.

Only these two places are allowlisted: a config names plugins by their `name`, never by import path.
A broken file is reported in one sentence and skipped; the other plugins still load.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import sys
import traceback
import types
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from .base import ToolPlugin
from .schema import PluginError, PluginSpec, describe

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "kotaemon_like.tools"
MODULE_PREFIX = "kl_plugin_"


@dataclass(frozen=True)
class PluginLoadError:
    """A plugin that could not be loaded: where it is and what to do about it."""

    source: str
    message: str


@dataclass
class _FileState:
    sha256: str
    specs: list[PluginSpec] = field(default_factory=list)
    error: PluginLoadError | None = None


def unsafe_folder(folder: Path) -> str | None:
    """Why the plugins in `folder` must not be imported (writable by other users: anyone there runs code
    as this service), or None."""
    try:
        mode = os.stat(folder).st_mode
    except OSError:
        return None  # no folder, no plugins
    if mode & stat.S_IWOTH:
        return (f"plugins folder {folder} is writable by other users (mode {stat.S_IMODE(mode):o}); every .py file "
                f"there runs as this service, so none is loaded: run `chmod o-w {folder}` or point tools.folder elsewhere")
    return None


def plugin_files(folder: Path) -> list[Path]:
    """The plugin files of a folder: *.py, not starting with _ or . (helpers, editor temp files)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if p.is_file() and not p.name.startswith(("_", ".")))


class PluginFolder:
    """The plugins of one folder, imported from source; only files whose content changed are re-imported.

    When a changed file is broken, the previous version keeps running (a half-saved file must not
    take a working tool away) and the error is reported; at start there is no previous version.
    """

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self._files: dict[Path, _FileState] = {}

    def scan(self) -> tuple[list[PluginSpec], list[PluginLoadError]]:
        unsafe = unsafe_folder(self.folder)
        if unsafe:
            for loaded in self._files:
                sys.modules.pop(_module_name(loaded), None)
            self._files.clear()
            return [], [PluginLoadError(str(self.folder), unsafe)]
        current = {p.resolve(): p for p in plugin_files(self.folder)}
        for gone in set(self._files) - set(current):
            del self._files[gone]
            sys.modules.pop(_module_name(gone), None)
        for resolved, path in current.items():
            try:
                source = path.read_bytes()
            except OSError as exc:  # deleted or unreadable between listing and reading
                self._files[resolved] = _FileState("", error=PluginLoadError(str(path), f"plugin file {path} cannot be read ({exc})"))
                continue
            sha = hashlib.sha256(source).hexdigest()
            state = self._files.get(resolved)
            if state is not None and state.sha256 == sha:
                continue
            specs, error = load_file(path, source)
            if error is not None and state is not None and state.specs:
                error = PluginLoadError(error.source, error.message + "; the previous version keeps running")
                self._files[resolved] = _FileState(sha, state.specs, error)
            else:
                self._files[resolved] = _FileState(sha, specs, error)
        specs = [s for state in self._files.values() for s in state.specs]
        errors = [state.error for state in self._files.values() if state.error is not None]
        return specs, errors


def load_file(path: Path, source: bytes | None = None) -> tuple[list[PluginSpec], PluginLoadError | None]:
    """Import one plugin file and describe the ToolPlugin classes it defines."""
    name = _module_name(path.resolve())
    try:
        # compiled from the bytes we hashed, not via the import system: no stale .pyc when a file
        # changes twice within a second, and no __pycache__ written into the user's folder
        code = compile(source if source is not None else path.read_bytes(), str(path), "exec")
    except SyntaxError as exc:
        message = f"plugin file {path}: syntax error on line {exc.lineno}: {exc.msg}; the plugin is skipped until the file is fixed"
        return [], PluginLoadError(str(path), message)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    previous = sys.modules.get(name)
    sys.modules[name] = module  # dataclasses and pydantic look the module up while classes are created
    try:
        exec(code, module.__dict__)
    except BaseException as exc:  # a plugin calling sys.exit() must not stop the application either
        if isinstance(exc, KeyboardInterrupt):
            raise
        _restore(name, previous)
        line = _line_in(exc, path)
        return [], PluginLoadError(
            str(path),
            f"plugin file {path}: {type(exc).__name__}: {exc}{line} while importing it; the plugin is skipped until the file is fixed",
        )
    classes = [
        obj for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, ToolPlugin) and obj is not ToolPlugin and obj.__module__ == name
    ]
    if not classes:
        _restore(name, previous)
        return [], PluginLoadError(str(path), f"plugin file {path} defines no ToolPlugin subclass; subclass kotaemon_like.tools.ToolPlugin")
    specs, problems = [], []
    for cls in classes:
        try:
            specs.append(describe(cls, str(path)))
        except PluginError as exc:
            problems.append(str(exc))
    error = PluginLoadError(str(path), "; ".join(problems) + "; that plugin is skipped") if problems else None
    return specs, error


def load_entry_points(group: str = ENTRY_POINT_GROUP) -> tuple[list[PluginSpec], list[PluginLoadError]]:
    """Plugin classes that installed packages declare in the entry point group `kotaemon_like.tools`."""
    specs, errors = [], []
    for ep in entry_points(group=group):
        dist = f" of package {ep.dist.name}" if getattr(ep, "dist", None) else ""
        source = f"entry point '{ep.name}'{dist} ({ep.value})"
        try:
            obj = ep.load()
        except Exception as exc:
            errors.append(PluginLoadError(source, f"{source} failed to import: {type(exc).__name__}: {exc}; reinstall or fix that package"))
            continue
        if not (isinstance(obj, type) and issubclass(obj, ToolPlugin)):
            errors.append(PluginLoadError(source, f"{source} is not a ToolPlugin subclass; it is skipped"))
            continue
        try:
            specs.append(describe(obj, source))
        except PluginError as exc:
            errors.append(PluginLoadError(source, f"{exc}; it is skipped"))
    return specs, errors


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]  # two folders may both hold orders.py
    return MODULE_PREFIX + re.sub(r"\W", "_", path.stem) + "_" + digest


def _restore(name: str, previous: types.ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def _line_in(exc: BaseException, path: Path) -> str:
    """' (line N)' for the deepest frame of the traceback inside the plugin file, if any."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return f" (line {frames[-1].lineno})" if frames else ""
