"""One YAML file wires every part: load it, interpolate `${VAR:-default}`, validate the shape.

Which `type` names exist and what parameters each takes is checked by `registry.validate`, so a
config error always names the file, the section, the bad value and the valid choices.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .logs import redact

DEFAULT_CONFIG = Path("config/default.yaml")
PACKAGED_CONFIG = Path(__file__).resolve().parent / "defaults" / "default.yaml"  # used outside a project folder
_SECRET_KEY = re.compile(r"key|secret|password|passwd|token|credential|auth|url|dsn", re.I)
_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


class ConfigError(Exception):
    """A user-facing configuration problem: one sentence naming file, key and what to do."""


class PartSpec(BaseModel):
    """A part named by its registered short `type`; every other key is a parameter of that type."""

    model_config = ConfigDict(extra="forbid")
    type: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_params(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"type": data}
        if isinstance(data, dict) and "params" not in data:
            data = dict(data)
            return {"type": data.pop("type", None), "params": data}
        return data


class Paths(BaseModel):
    model_config = ConfigDict(extra="forbid")
    knowledge: Path = Path("data/knowledge")
    index: Path = Path("data/index")
    tenants: Path | None = None  # <id>/knowledge and <id>/index of every tenant but the default; none: next to index


class IngestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_file_mb: float = Field(200, gt=0)
    max_file_chunks: int = Field(20_000, gt=0)  # bounds the embedding work of one file (~2,000 pages)


class ChatSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # below this relevance (cosine or share of query terms found) the best source does not answer the question
    min_relevance: float = Field(0.4, ge=0, le=1)
    # and the closest source must be this near the question in meaning (embedder cosine; 0 = off), when the
    # embedder can read the question; calibrated on the tuning split of bench/answers.py
    min_similarity: float = Field(0.35, ge=0, le=1)
    # ... raised by this much times the share of the question's content terms found in no source (0 = off)
    missing_terms: float = Field(0.0, ge=0, le=1)
    answer_terms: float = Field(0.25, ge=0, le=1)  # extractive answers: the bar rises with the question's terms they lack
    # a source is followed by up to this many next chunks of its document that continue its section (0 = off)
    continue_chunks: int = Field(1, ge=0, le=4)
    # the best this many sources decide whether the documents answer at all (the gate above); the answer may then
    # quote every source of retriever.top_k (0 = every source decides)
    judged_sources: int = Field(4, ge=0)
    rewrite_with_llm: bool = True  # follow-up questions rewritten by the configured LLM (else a heuristic)


class WatcherSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quiet_s: float = Field(0.5, gt=0)  # a file must stop changing this long before it is queued
    reconcile_s: float = Field(300, gt=0)  # full folder-vs-manifest check, a safety net for missed events


class WorkerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threads: int = Field(1, gt=0)  # in-process workers next to the watcher (embedded mode)
    metrics_port: int | None = None


class BreakerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    failure_threshold: int = Field(3, gt=0)  # consecutive failures that open the breaker
    cooldown_s: float = Field(30, gt=0)  # open this long, then one half-open probe
    # none: each process keeps its own breakers; redis://host:6379/0: one breaker per plugin for every app replica
    url: str | None = None
    prefix: str = Field("kl:breaker", min_length=1)  # Redis key prefix


class ToolsSettings(BaseModel):
    """Tool plugins: where they live, which are on, their settings, and the breaker around each."""

    model_config = ConfigDict(extra="forbid")
    folder: Path = Path("plugins")
    enabled: list[str] | None = None  # None = every plugin found
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per plugin name
    timeout_s: float = Field(5.0, gt=0)  # default per call; a plugin may declare its own
    breaker: BreakerSettings = BreakerSettings()
    stale_results: bool = True  # on failure, reuse the last good result for the same arguments, marked stale
    reload: bool = True  # pick up added or changed plugin files while running
    router_threshold: float = Field(0.45, ge=0, le=1)  # without an LLM: similarity a request needs to call a plugin
    # labelled messages the router learns from (JSON lines {"text", "expect"}), relative to `folder`; "" = rules only
    requests_file: str = "requests.jsonl"


class BusinessHours(BaseModel):
    """When agents answer; outside these hours a hand-off offers a ticket instead of a queue."""

    model_config = ConfigDict(extra="forbid")
    timezone: str = "UTC"  # an IANA name, e.g. Europe/Berlin
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["mon", "tue", "wed", "thu", "fri"]
    open: dt.time = dt.time(9, 0)
    close: dt.time = dt.time(17, 0)


class ConversationSettings(BaseModel):
    """The customer-service layer: where conversations live and when a person takes over."""

    model_config = ConfigDict(extra="forbid")
    # SQLAlchemy URL, e.g. postgresql+psycopg://kl:${POSTGRES_PASSWORD}@postgres/kl; none: a SQLite file next to paths.index
    url: str | None = None
    handoff_after_unanswered: int = Field(2, ge=0)  # unanswered turns in a row before a hand-off; 0 = never
    history_turns: int = Field(6, ge=0)  # earlier turns the assistant sees
    minutes_per_customer: float = Field(4.0, ge=0)  # for the wait estimate told to the customer
    agent_timeout_s: float = Field(120, gt=0)  # an online agent whose console went quiet this long counts as away
    business_hours: BusinessHours | None = None  # none: agents may be online at any time
    staff_session_hours: float = Field(12, gt=0)  # a console sign-in lasts this long
    events_poll_s: float = Field(0.5, gt=0)  # how often a live customer stream looks for new messages
    events_max_s: float = Field(300, gt=0)  # a live stream ends after this; the page reconnects


class StatsSettings(BaseModel):
    """How the support figures are cut and the knowledge gaps grouped."""

    model_config = ConfigDict(extra="forbid")
    timezone: str = "UTC"  # an IANA name, e.g. Europe/Berlin: days, weeks and months start at local midnight
    gap_similarity: float = Field(0.45, gt=0, lt=1)  # average cosine similarity within a knowledge-gap group

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin") from None
        return value


class RateLimits(BaseModel):
    """Requests allowed per client address (`*_per_ip`) and per credential (`*_per_key`); null = no limit."""

    model_config = ConfigDict(extra="forbid")
    conversations_per_ip: str | None = "30/minute"  # new conversations (POST /api/conversations, /api/chat without an id)
    messages_per_ip: str | None = "60/minute"  # chat messages: conversation messages, /api/chat, /v1/chat/completions
    messages_per_key: str | None = "600/minute"  # the same, per API key or public key (per tenant without one)
    uploads_per_key: str | None = "60/minute"  # POST /api/documents
    storage: str = "memory://"  # or redis://host:6379/0: shared by every app replica
    strategy: Literal["moving-window", "fixed-window"] = "moving-window"

    @field_validator("conversations_per_ip", "messages_per_ip", "messages_per_key", "uploads_per_key")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit; write e.g. 30/minute, 5/second or 1000/day") from None
        return value


class Quotas(BaseModel):
    """Monthly allowance of a tenant (calendar month, UTC); null = unlimited. `tenants` overrides it per tenant id."""

    model_config = ConfigDict(extra="forbid")
    messages_per_month: int | None = Field(None, ge=0)  # customer messages the assistant answered
    tokens_per_month: int | None = Field(None, ge=0)  # LLM tokens (prompt + completion) the generator reported
    tenants: dict[str, "Quotas"] = Field(default_factory=dict)


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    # the address customers and staff use, e.g. https://support.example.com: its host and origin are trusted
    public_url: str | None = None
    # Host headers served; none: loopback, `host` (unless 0.0.0.0) and public_url's host. "*.example.com" works.
    trusted_hosts: list[str] | None = None
    # other origins whose pages may post to staff and admin routes (the served host itself always may)
    trusted_origins: list[str] = Field(default_factory=list)
    max_body_kb: float = Field(1024, gt=0)  # any request body, unless a cap below is for its route
    max_chat_kb: float = Field(64, gt=0)  # a chat message request (/api/chat, conversation messages)
    max_openai_kb: float = Field(256, gt=0)  # a /v1 request (it carries the whole history)
    rate_limits: RateLimits = RateLimits()
    quotas: Quotas = Quotas()

    @field_validator("trusted_hosts", "trusted_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """A list, or one string of comma-separated names (as an environment variable gives it)."""
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
    port: int = Field(8080, gt=0, lt=65536)
    embedded_ingest: bool = True  # run watcher + workers in the server process (off in the stack)
    api_key_env: str = "KL_API_KEY"  # NAME of the env var; auth is on when it is set and not empty
    max_upload_mb: float = Field(50, gt=0)
    grace_s: float = Field(20, ge=0)  # on SIGTERM, in-flight answers get this long to finish
    sse_ping_s: float = Field(15, gt=0)  # keep-alive comment on a silent stream, so proxies keep it open


class TenantSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loaded_max: int = Field(8, gt=0)  # tenants whose index and engine stay loaded (least recently used unloaded)
    refresh_s: float = Field(10, gt=0)  # `kl watch/worker --all-tenants` reads the tenant list this often


class CacheSettings(BaseModel):
    """Answers to repeated questions, per tenant, until that tenant's documents change or `ttl_s` passes."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    url: str | None = None  # redis://host:6379/0 shares the cache between replicas; none: in this process
    ttl_s: float = Field(3600, gt=0)
    max_entries: int = Field(1000, gt=0)  # in-process only: the least recently used answers go first


class Settings(BaseModel):
    """The whole validated config; every entry point (CLI, server, worker) uses this one model."""

    model_config = ConfigDict(extra="forbid")
    paths: Paths = Paths()
    ingest: IngestSettings = IngestSettings()
    chat: ChatSettings = ChatSettings()
    loaders: list[PartSpec] = Field(default_factory=lambda: [PartSpec(type="pdf"), PartSpec(type="text")])
    splitter: PartSpec = PartSpec(type="sentence")
    embedder: PartSpec = PartSpec(type="sentence_transformers")
    vector_store: PartSpec = PartSpec(type="faiss")
    keyword_index: PartSpec = PartSpec(type="sqlite_fts")
    retriever: PartSpec = PartSpec(type="hybrid")
    generator: PartSpec = PartSpec(type="extractive")
    memory: PartSpec = PartSpec(type="window")
    queue: PartSpec = PartSpec(type="memory")
    watcher: WatcherSettings = WatcherSettings()
    worker: WorkerSettings = WorkerSettings()
    tools: ToolsSettings = ToolsSettings()
    server: ServerSettings = ServerSettings()
    conversations: ConversationSettings = ConversationSettings()
    stats: StatsSettings = StatsSettings()
    tenants: TenantSettings = TenantSettings()
    cache: CacheSettings = CacheSettings()
    source_file: str = "<defaults>"


def interpolate(value: Any, where: str = "") -> Any:
    """Replace `${VAR}` / `${VAR:-default}` in every string of a parsed YAML tree."""
    if isinstance(value, dict):
        return {k: interpolate(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ and os.environ[name] != "":
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{where}: environment variable {name} is not set and has no default; set it or write ${{{name}:-value}}")

    whole = _ENV_PATTERN.fullmatch(value)
    result = _ENV_PATTERN.sub(substitute, value)
    if result == value:
        return value
    # A value that was only a variable is re-read as YAML so `${TOP_K:-4}` becomes the number 4.
    result = yaml.safe_load(result) if whole and result.strip() else result
    return FromEnvironment(result) if isinstance(result, str) else result


class FromEnvironment(str):
    """A config string that came (at least partly) from an environment variable: never echoed in errors."""


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: the explicit one, else $KL_CONFIG, else ./config/default.yaml, else the
    default shipped in the package (relative paths in any of them are from the working directory)."""
    chosen = explicit or os.environ.get("KL_CONFIG")
    if chosen:
        return Path(chosen)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else PACKAGED_CONFIG


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read, interpolate and validate the shape of a config file (types are checked by the registry)."""
    file = config_path(path)
    if not file.is_file():
        raise ConfigError(f"config file {file} not found; pass --config FILE or set KL_CONFIG")
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(redact(f"{file}: not valid YAML: {exc}")) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of sections")
    try:
        data = interpolate(raw)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    try:
        return Settings(**data, source_file=str(file))
    except ValidationError as exc:
        raise ConfigError(f"{file}: {describe_validation_error(exc, Settings)}") from None


def describe_validation_error(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """The first validation problem as one sentence, listing the valid keys for an unknown one."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if p != "params")
    where = f"{prefix}.{loc}" if prefix and loc else prefix or loc
    if err["type"] == "extra_forbidden":
        owner = model
        for part in err["loc"][:-1]:
            annotation = owner.model_fields[part].annotation if part in owner.model_fields else None
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                break
            owner = annotation
        valid = ", ".join(sorted(k for k in owner.model_fields if k != "source_file"))
        return f"{where}: unknown key '{err['loc'][-1]}'; valid keys: {valid}"
    return f"{where}: {err['msg']}{_shown(err.get('input'), str(err['loc'][-1]) if err['loc'] else '')}"


def _shown(value: Any, key: str) -> str:
    """What a config error may quote of a bad value: nothing that came from the environment or could be a secret."""
    if isinstance(value, (dict, list)) or isinstance(value, FromEnvironment) or _SECRET_KEY.search(key):
        return ""
    text = repr(value)
    return "" if redact(text) != text else f" (got {text[:80]})"
