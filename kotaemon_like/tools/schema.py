"""A plugin class checked and described: its argument model (from `run`'s type hints) and JSON schema."""

from __future__ import annotations

import inspect
import re
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from .base import ToolContext, ToolPlugin

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what OpenAI-style function calling accepts


class PluginError(Exception):
    """A plugin class that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Arguments:
    """The outcome of validating call arguments: values, or the missing parameters, or one error sentence."""

    values: dict[str, Any]  # validated objects, as `run` receives them
    normalized: dict[str, Any] | None = None  # the same as JSON values (a stable key for stale results)
    missing: tuple[str, ...] = ()
    error: str = ""  # one sentence for logs and LLMs
    invalid: tuple[str, Any] | None = None  # (parameter, value) when one given value is not acceptable


@dataclass(frozen=True)
class PluginSpec:
    """A validated plugin class and where it came from (a file in plugins/ or an installed entry point)."""

    cls: type[ToolPlugin]
    source: str
    model: type[BaseModel]  # validates the arguments of `run`
    context_param: str | None  # the `run` parameter that receives the ToolContext

    @property
    def name(self) -> str:
        return self.cls.name

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(n for n, f in self.model.model_fields.items() if f.is_required())

    def json_schema(self) -> dict[str, Any]:
        """The parameters object of an OpenAI-style function definition."""
        schema = _strip_titles(self.model.model_json_schema())
        schema.setdefault("properties", {})
        schema.pop("additionalProperties", None)
        return schema

    def openai_tool(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.cls.name, "description": self.cls.description, "parameters": self.json_schema()},
        }

    def question(self, parameter: str) -> str:
        """What the assistant asks when `parameter` is missing."""
        if parameter in self.cls.questions:
            return self.cls.questions[parameter]
        field = self.model.model_fields.get(parameter)
        what = (field.description if field and field.description else parameter.replace("_", " ")).rstrip(".")
        return f"Could you tell me {what[:1].lower() + what[1:]}?"

    def validate(self, arguments: dict[str, Any]) -> Arguments:
        """Check call arguments against `run`'s signature; never raises."""
        try:
            instance = self.model.model_validate(arguments)
        except ValidationError as exc:
            errors = exc.errors()
            missing = tuple(str(e["loc"][0]) for e in errors if e["type"] == "missing" and e["loc"])
            others = [e for e in errors if e["type"] != "missing"]
            if not others:
                return Arguments({}, missing=missing)
            first = others[0]
            where = ".".join(str(p) for p in first["loc"]) or "arguments"
            if first["type"] == "extra_forbidden":
                return Arguments({}, error=f"{self.name}: unknown argument '{where}'")
            invalid = (str(first["loc"][0]), first["input"]) if first["loc"] else None
            return Arguments({}, error=f"{self.name}: {where}: {first['msg']} (got {first['input']!r})", invalid=invalid)
        values = {name: getattr(instance, name) for name in self.model.model_fields}
        return Arguments(values, normalized=instance.model_dump(mode="json"))


def describe(cls: type[ToolPlugin], source: str) -> PluginSpec:
    """Check a plugin class and derive its argument model; raises PluginError naming what is wrong."""
    where = f"{source}: {cls.__name__}"
    if not isinstance(cls.name, str) or not _NAME.match(cls.name):
        raise PluginError(f"{where}: `name` must be 1-64 letters, digits, _ or - (got {cls.name!r})")
    if not isinstance(cls.description, str) or not cls.description.strip():
        raise PluginError(f"{where}: `description` is empty; say what the tool does (the LLM reads it)")
    if cls.run is ToolPlugin.run:
        raise PluginError(f"{where}: implement `run(self, ...)` with typed parameters")
    if cls.timeout_s is not None and not (isinstance(cls.timeout_s, (int, float)) and cls.timeout_s > 0):
        raise PluginError(f"{where}: `timeout_s` must be a positive number of seconds or None (got {cls.timeout_s!r})")
    for attr in ("examples", "counter_examples", "keywords", "intents"):
        value = getattr(cls, attr)
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise PluginError(f"{where}: `{attr}` must be a list of strings")
    for i, pattern in enumerate(cls.intents):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise PluginError(f"{where}: `intents[{i}]` is not a valid regex: {exc}") from None
    if not (isinstance(cls.Settings, type) and issubclass(cls.Settings, BaseModel)):
        raise PluginError(f"{where}: `Settings` must be a pydantic model (subclass ToolPlugin.Settings)")
    model, context_param = _arguments_model(cls, where)
    for attr in ("patterns", "questions"):
        for parameter in getattr(cls, attr):
            if parameter not in model.model_fields:
                raise PluginError(f"{where}: `{attr}` names '{parameter}', which is not a parameter of run()")
    for parameter, pattern in cls.patterns.items():
        try:
            re.compile(pattern)
        except re.error as exc:
            raise PluginError(f"{where}: `patterns['{parameter}']` is not a valid regex: {exc}") from None
    return PluginSpec(cls=cls, source=source, model=model, context_param=context_param)


def _arguments_model(cls: type[ToolPlugin], where: str) -> tuple[type[BaseModel], str | None]:
    try:
        hints = typing.get_type_hints(cls.run, include_extras=True)
    except Exception as exc:  # an unresolvable annotation: report it rather than crash the loader
        raise PluginError(f"{where}: the type hints of run() cannot be resolved ({exc})") from None
    fields: dict[str, Any] = {}
    context_param = None
    for position, (pname, param) in enumerate(inspect.signature(cls.run).parameters.items()):
        if position == 0:
            continue  # self
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise PluginError(f"{where}: run() must name its parameters (no *args / **kwargs); they become the JSON schema")
        if pname not in hints:
            raise PluginError(f"{where}: parameter '{pname}' of run() needs a type hint; it becomes the JSON schema")
        if _is_context(hints[pname]):
            context_param = pname
            continue
        fields[pname] = (hints[pname], ... if param.default is param.empty else param.default)
    try:
        model = create_model(
            f"{cls.__name__}Arguments",
            __config__=ConfigDict(extra="forbid", coerce_numbers_to_str=True),
            **fields,
        )
        model.model_json_schema()
    except Exception as exc:
        raise PluginError(f"{where}: the parameters of run() cannot be turned into a JSON schema ({exc})") from None
    return model, context_param


def _is_context(hint: Any) -> bool:
    if hint is ToolContext:
        return True
    return any(a is ToolContext for a in typing.get_args(hint))  # Optional[ToolContext], Annotated[...]


def _strip_titles(node: Any, keys_are_names: bool = False) -> Any:
    """Drop pydantic's auto-generated `title`s (noise for an LLM) but keep parameters that are called title."""
    if isinstance(node, dict):
        return {
            k: _strip_titles(v, keys_are_names=k in ("properties", "$defs") and not keys_are_names)
            for k, v in node.items()
            if keys_are_names or not (k == "title" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node
