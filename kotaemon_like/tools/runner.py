"""The Toolbox: the enabled plugins, each behind a timeout and its own circuit breaker, reloaded on change."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .. import metrics
from ..embedders import cache_dir
from ..components import Embedder
from ..config import ToolsSettings, describe_validation_error
from .base import FAILED, NEEDS_INPUT, OK, SKIPPED_OPEN, TIMEOUT, ToolContext, ToolError, ToolOutput, ToolPlugin, ToolResult
from .breaker import OPEN, make_breaker
from .execution import ToolTimeout, run_with_timeout
from .loader import PluginFolder, PluginLoadError, load_entry_points
from .reload import PluginWatcher
from .offers import offered_question
from .classifier import Labelled, RequestClassifier, VectorStore, multilingual_embedder, read_requests
from .router import DEFAULT_THRESHOLD, RouteDecision, ToolRouter, decide
from .schema import Arguments, PluginSpec

log = logging.getLogger(__name__)
STALE_ENTRIES = 1000  # last good results kept for `stale_results`, across all plugins


@dataclass(frozen=True)
class LoadedPlugin:
    """An enabled plugin: its validated class, its instance (with its settings), where it came from."""

    spec: PluginSpec
    instance: ToolPlugin

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class PluginStatus:
    """What the UI and /api/ready show for one plugin."""

    name: str
    source: str
    state: str  # closed | open | half-open
    consecutive_failures: int
    last_error: str | None
    retry_in_s: float | None  # while open: seconds until the half-open probe


class Toolbox:
    """Loads plugins from `settings.folder` and entry points; `call` never raises and never outlives the timeout.

    Entry points are read once, at construction (installed packages do not change while running).
    """

    def __init__(
        self,
        settings: ToolsSettings | None = None,
        embedder: Embedder | None = None,
        *,
        router_threshold: float = DEFAULT_THRESHOLD,
        entry_points: bool = True,
        watch: bool | None = None,  # None: follow settings.reload
    ):
        self.settings = settings or ToolsSettings()
        self.router = ToolRouter(embedder, router_threshold)
        self._classifier: tuple[tuple, RequestClassifier | None] | None = None  # (plugins and file it was trained for, it)
        self._classifier_lock = threading.Lock()
        self._folder = PluginFolder(self.settings.folder)
        self._entry_points = load_entry_points() if entry_points else ([], [])
        self._plugins: dict[str, LoadedPlugin] = {}
        self._errors: list[PluginLoadError] = []
        self._reported: set[str] = set()
        self._breakers: dict = {}  # plugin name -> CircuitBreaker or RedisCircuitBreaker
        self._stale: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._stale_lock = threading.Lock()
        self._lock = threading.RLock()  # one reload at a time (the watcher's and an explicit one)
        self.reload()
        self._watcher = None
        if self.settings.reload if watch is None else watch:
            self._watcher = PluginWatcher(self.settings.folder, self.reload)
            self._watcher.start()

    # -- loading -----------------------------------------------------------------------------
    def reload(self) -> None:
        """Re-scan the plugins folder (changed files only) and rebuild the enabled set."""
        with self._lock:
            found, errors = self._discover()
            plugins: dict[str, LoadedPlugin] = {}
            for name, spec in found.items():
                if self.settings.enabled is not None and name not in self.settings.enabled:
                    continue
                current = self._plugins.get(name)
                if current is not None and current.spec.cls is spec.cls:
                    plugins[name] = current  # unchanged file: keep the instance (and its connections)
                    continue
                instance = self._instantiate(spec, errors)
                if instance is not None:
                    plugins[name] = LoadedPlugin(spec, instance)
            # breakers are kept by name across reloads: new code does not make the service behind it healthy
            for name in plugins:
                if name not in self._breakers:
                    self._breakers[name] = make_breaker(name, self.settings.breaker)
            retired = [p for n, p in self._plugins.items() if plugins.get(n) is not p]
            added = sorted(set(plugins) - set(self._plugins))
            self._plugins, self._errors = plugins, errors  # one swap: a call sees the old set or the new one
        for plugin in retired:
            _close(plugin)
        for error in errors:
            if error.message not in self._reported:  # once per distinct problem, not on every reload
                self._reported.add(error.message)
                log.error("%s", error.message, extra={"plugin_source": error.source})
        if added:
            log.info("tool plugins loaded: %s", ", ".join(added), extra={"plugins": sorted(plugins)})

    def _discover(self) -> tuple[dict[str, PluginSpec], list[PluginLoadError]]:
        """Every valid plugin by name (the folder's first: the user's own file wins over a package), and the problems."""
        file_specs, errors = self._folder.scan()
        ep_specs, ep_errors = self._entry_points
        errors = list(errors) + list(ep_errors)
        found: dict[str, PluginSpec] = {}
        for spec in file_specs + ep_specs:
            if spec.name in found:
                first = found[spec.name].source
                errors.append(PluginLoadError(spec.source, f"{spec.source}: a plugin named '{spec.name}' already comes from {first}; this one is skipped"))
            else:
                found[spec.name] = spec
        where = f"in {self.settings.folder} or installed packages"
        for name in self.settings.enabled or ():
            if name not in found:
                known = ", ".join(sorted(found)) or "none"
                errors.append(PluginLoadError("config", f"tools.enabled lists '{name}' but no plugin has that name {where}; found: {known}"))
        for name in self.settings.settings:
            if name not in found:
                errors.append(PluginLoadError("config", f"tools.settings.{name}: no plugin has that name {where}; check the spelling"))
        return found, errors

    def _instantiate(self, spec: PluginSpec, errors: list[PluginLoadError]) -> ToolPlugin | None:
        where = f"tools.settings.{spec.name}"
        try:
            settings = spec.cls.Settings(**self.settings.settings.get(spec.name, {}))
        except ValidationError as exc:
            problem = describe_validation_error(exc, spec.cls.Settings, where)
            errors.append(PluginLoadError(spec.source, f"{problem}; plugin {spec.name} is skipped"))
            return None
        try:
            return spec.cls(settings)
        except Exception as exc:
            problem = f"{spec.source}: creating plugin {spec.name} raised {type(exc).__name__}: {exc}; it is skipped"
            errors.append(PluginLoadError(spec.source, problem))
            return None

    # -- what is there -----------------------------------------------------------------------
    def plugins(self) -> dict[str, LoadedPlugin]:
        return dict(self._plugins)

    def load_errors(self) -> list[PluginLoadError]:
        """Plugins that were found but not loaded, each with one sentence saying why."""
        return list(self._errors)

    def status(self) -> dict[str, PluginStatus]:
        result = {}
        for name, plugin in self.plugins().items():
            breaker = self._breakers[name]
            result[name] = PluginStatus(
                name, plugin.spec.source, breaker.state, breaker.consecutive_failures, breaker.last_error, breaker.retry_in_s()
            )
        return result

    def openai_tools(self) -> list[dict[str, Any]]:
        """Function definitions for an LLM: enabled plugins whose breaker is not open."""
        return [p.spec.openai_tool() for n, p in self.plugins().items() if self._breakers[n].state != OPEN]

    def route(self, message: str, pending: RouteDecision | None = None, knowledge: float | None = None) -> RouteDecision | None:
        """The embedded router's choice for a customer message (see ToolRouter.route)."""
        specs = {n: p.spec for n, p in self.plugins().items()}
        return self.router.route(message, specs, pending, knowledge, self._ready_classifier(specs))

    def _ready_classifier(self, specs: dict[str, PluginSpec]) -> RequestClassifier | None:
        """The classifier, trained here if need be; None while another thread trains it (warm_up): a customer
        does not wait for the first start's embedding, the rules route that message."""
        if not self._classifier_lock.acquire(blocking=False):
            return None
        self._classifier_lock.release()
        return self.classifier(specs)

    def _requests_path(self) -> Path | None:
        """Where `tools.requests_file` is, or None when it is off."""
        return self.settings.folder / self.settings.requests_file if self.settings.requests_file else None

    def requests(self) -> list[Labelled]:
        """The labelled messages of `tools.requests_file` (none when it is off or absent)."""
        path = self._requests_path()
        return read_requests(path) if path is not None and path.is_file() else []

    def classifier(self, specs: dict[str, PluginSpec]) -> RequestClassifier | None:
        """The request classifier for these plugins, trained on first use and again when they or the requests
        file change; None when there is nothing to learn from (see classifier.py). A bad file is logged once
        and the rules route alone."""
        path = self._requests_path()
        stamp = path.stat().st_mtime_ns if path is not None and path.is_file() else None
        key = (tuple(sorted((n, id(s.cls)) for n, s in specs.items())), stamp)
        with self._classifier_lock:
            if self._classifier is None or self._classifier[0] != key:
                self._classifier = (key, self._train(specs) if stamp is not None else None)
            return self._classifier[1]

    def warm_up(self, background: bool = False) -> RequestClassifier | None:
        """Train the request classifier now (the first start embeds the requests file: ~30 s on 2 cores), or
        start doing so in a thread; a message routed meanwhile is routed by the rules alone."""
        specs = {n: p.spec for n, p in self.plugins().items()}
        if background:
            threading.Thread(target=self.classifier, args=(specs,), name="request-classifier", daemon=True).start()
            return None
        return self.classifier(specs)

    def _train(self, specs: dict[str, PluginSpec]) -> RequestClassifier | None:
        try:
            rows = self.requests()
        except (OSError, ValueError) as exc:
            log.error("request classifier off: %s", exc)
            return None
        embedder = self.router.embedder if _multilingual(self.router.embedder) else multilingual_embedder()
        if embedder is None:
            return None
        started = time.perf_counter()
        try:
            classifier = RequestClassifier.for_plugins(_vector_store(embedder), specs, rows)
        except Exception:  # a routing aid: its failure must not fail a conversation turn
            log.exception("request classifier off: training failed")
            return None
        if classifier is not None:
            log.info("request classifier trained on %d messages in %.1f s", classifier.size, time.perf_counter() - started)
        return classifier

    def accept_offer(self, name: str, history) -> RouteDecision:
        """The call an accepted offer makes, with the arguments the offered-for question gives (see tools.offers)."""
        spec = self._plugins[name].spec
        question = offered_question(history)
        return decide(spec, spec.cls.extract(question) if question else {}, 1.0)

    # -- calling -----------------------------------------------------------------------------
    def call(self, name: str, arguments: dict[str, Any] | None = None, context: ToolContext | None = None) -> ToolResult:
        """Run one plugin. Bad or missing arguments do not reach the plugin and do not count against its breaker."""
        start = time.perf_counter()
        arguments = dict(arguments or {})
        plugin = self._plugins.get(name)
        if plugin is None:
            log.warning("call to unknown or disabled tool %s", name, extra={"plugin": name})
            return ToolResult(name, arguments, FAILED, _ms(start), "Sorry, that service is not available.")
        checked = plugin.spec.validate(arguments)
        if checked.missing:
            return ToolResult(name, arguments, NEEDS_INPUT, _ms(start), plugin.spec.question(checked.missing[0]))
        if checked.error:
            log.info("tool %s called with bad arguments: %s", name, checked.error, extra={"plugin": name})
            return ToolResult(name, arguments, FAILED, _ms(start), _bad_arguments(plugin.spec, checked))
        breaker = self._breakers[name]
        key = f"{name}:{json.dumps(checked.normalized, sort_keys=True, default=str)}"
        if not breaker.allow():
            metrics.TOOL_SKIPS.labels(name).inc()
            log.info("tool %s skipped: circuit breaker open", name, extra={"plugin": name})
            return self._unavailable(plugin, arguments, SKIPPED_OPEN, start, key)
        kwargs = dict(checked.values)
        if plugin.spec.context_param:
            kwargs[plugin.spec.context_param] = context or ToolContext()
        timeout = plugin.spec.cls.timeout_s or self.settings.timeout_s
        metrics.TOOL_CALLS.labels(name).inc()
        try:
            output = run_with_timeout(plugin.instance.run, kwargs, timeout, name)
            message = _message_of(output)
        except ToolTimeout as exc:
            status, error = TIMEOUT, f"timeout: {exc}"
        except Exception as exc:
            status, error = FAILED, f"{type(exc).__name__}: {_first_line(exc)}"
        else:
            breaker.record_success()
            metrics.TOOL_LATENCY.labels(name).observe(time.perf_counter() - start)
            if self.settings.stale_results:
                self._remember(key, message)
            return ToolResult(name, arguments, OK, _ms(start), message)
        metrics.TOOL_LATENCY.labels(name).observe(time.perf_counter() - start)
        metrics.TOOL_FAILURES.labels(name, "timeout" if status == TIMEOUT else "error").inc()
        log.info("tool %s failed: %s", name, error, extra={"plugin": name, "status": status, "latency_ms": _ms(start)})
        breaker.record_failure(error)
        return self._unavailable(plugin, arguments, status, start, key)

    async def acall(self, name: str, arguments: dict[str, Any] | None = None, context: ToolContext | None = None) -> ToolResult:
        """`call` for async code (the API server): runs on a worker thread, so the event loop never waits."""
        return await asyncio.to_thread(self.call, name, arguments, context)

    def _unavailable(self, plugin: LoadedPlugin, arguments: dict[str, Any], status: str, start: float, key: str) -> ToolResult:
        text = f"Sorry, the {plugin.spec.cls.display_name()} is unavailable right now. Please try again in a few minutes."
        last = self._stale.get(key) if self.settings.stale_results else None
        if last is None:
            return ToolResult(plugin.name, arguments, status, _ms(start), text)
        message, at = last
        stale = f"{text} The last information I have, from {_age(time.time() - at)} ago: {message}"
        return ToolResult(plugin.name, arguments, status, _ms(start), stale, stale=True)

    def _remember(self, key: str, message: str) -> None:
        with self._stale_lock:
            self._stale[key] = (message, time.time())
            self._stale.move_to_end(key)
            while len(self._stale) > STALE_ENTRIES:
                self._stale.popitem(last=False)

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Stop watching the folder and release the plugins."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        with self._lock:
            plugins, self._plugins = list(self._plugins.values()), {}
        for plugin in plugins:
            _close(plugin)

    def __enter__(self) -> "Toolbox":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _message_of(output: Any) -> str:
    """The customer-facing text of a plugin's return value; an error result raises so it counts as a failure."""
    if isinstance(output, ToolOutput):
        if not output.ok:
            raise ToolError(output.message or "the plugin returned an error result")
        return output.message
    if isinstance(output, str):
        return output
    raise TypeError(f"run() returned {type(output).__name__}; return a str or a ToolOutput")


def _bad_arguments(spec: PluginSpec, checked: Arguments) -> str:
    if checked.invalid is None:
        return f"Sorry, I could not use those details ({checked.error})."
    parameter, value = checked.invalid
    shown = value if isinstance(value, (str, int, float)) else json.dumps(value, default=str)[:80]
    return f"Sorry, \"{shown}\" is not a valid {parameter.replace('_', ' ')}. {spec.question(parameter)}"


_STORES: dict[int, VectorStore] = {}


def _vector_store(embedder) -> VectorStore:
    """One store of routing vectors per embedder in the process, kept on disk under the cache folder."""
    store = _STORES.get(id(embedder))
    if store is None or store.embedder is not embedder:
        store = _STORES[id(embedder)] = VectorStore(embedder, cache_dir("routing"))
    return store


def _multilingual(embedder) -> bool:
    return embedder is not None and str(getattr(embedder, "name", "")).startswith("multilingual-e5")


def _close(plugin: LoadedPlugin) -> None:
    try:
        plugin.instance.close()
    except Exception:
        log.exception("closing tool plugin %s failed", plugin.name, extra={"plugin": plugin.name})


def _first_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one log-friendly line (httpx, for one, appends a second line with a help link)."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else "")[:limit]


def _age(seconds: float) -> str:
    if seconds < 90:
        return "a minute" if seconds >= 45 else "a few seconds"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600)} hours" if seconds < 36 * 3600 else f"{round(seconds / 86400)} days"


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
