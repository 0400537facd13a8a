"""Any LLM through litellm: streaming, a first-token deadline, retries with backoff, keys from env only."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Any, Iterator, Sequence

from pydantic import BaseModel, ConfigDict, Field

from ..components import GenerationInfo, Message, ScoredChunk
from .prompts import ANSWER_PROMPT, SYSTEM_PROMPT, build_messages

log = logging.getLogger(__name__)
_END = object()


class GenerationError(Exception):
    """The generator could not produce an answer (provider error, timeout before the first token)."""


class LiteLLMGenerator:
    """Streams a grounded answer from `model` (litellm's provider/model string, e.g. `openai/gpt-4o-mini`,
    `ollama/qwen2.5`, `deepseek/deepseek-chat`)."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        model: str
        api_base: str | None = None
        api_key_env: str | None = None  # NAME of the environment variable holding the key, never the key
        first_token_timeout_s: float = Field(15.0, gt=0)  # no first token by then: fail (the fallback answers)
        timeout_s: float = Field(60.0, gt=0)  # whole answer, and longest pause between two chunks
        max_retries: int = Field(1, ge=0)  # before the first token, on provider errors
        retry_backoff_s: float = Field(0.5, ge=0)
        temperature: float = Field(0.1, ge=0, le=2)
        max_tokens: int = Field(512, gt=0)
        system_prompt: str = SYSTEM_PROMPT
        answer_prompt: str = ANSWER_PROMPT

    reads_system_messages = True  # the conversation's system messages follow the built-in instructions

    def __init__(self, params: Params):
        import litellm  # seconds to import: pay it at start, not inside the first-token deadline

        litellm.suppress_debug_info = True

        self.params = params
        self.name = params.model

    def _call_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.params.model, "timeout": self.params.timeout_s, "num_retries": 0}
        if self.params.api_base:
            kwargs["api_base"] = self.params.api_base
        if self.params.api_key_env:
            key = os.environ.get(self.params.api_key_env)
            if not key:
                raise GenerationError(f"environment variable {self.params.api_key_env} (the API key for {self.name}) is not set")
            kwargs["api_key"] = key
        return kwargs

    def complete(self, messages: list[dict], timeout_s: float | None = None, **extra: Any) -> Any:
        """One non-streaming call (query rewriting, summaries, tool routing); returns litellm's response."""
        import litellm

        kwargs = self._call_kwargs()
        if timeout_s:
            kwargs["timeout"] = timeout_s
        return litellm.completion(messages=messages, temperature=self.params.temperature, **kwargs, **extra)

    def _pump(self, messages: list[dict], out: queue.Queue, stop: threading.Event) -> None:
        """Runs in a thread: stream chunks into `out` so the caller can enforce deadlines; ends early on `stop`."""
        import litellm

        try:
            response = litellm.completion(
                messages=messages, stream=True, stream_options={"include_usage": True},
                temperature=self.params.temperature, max_tokens=self.params.max_tokens, **self._call_kwargs(),
            )
            for chunk in response:
                if stop.is_set():  # nobody reads this answer any more (the client left): hang up on the provider
                    upstream = getattr(response, "completion_stream", None)
                    if callable(getattr(upstream, "close", None)):
                        upstream.close()
                    return
                out.put(chunk)
            out.put(_END)
        except Exception as exc:  # handed to the consumer, which decides about retries
            out.put(exc)

    def _attempt(self, messages: list[dict], deadline: float) -> Iterator[Any]:
        out: queue.Queue = queue.Queue()
        stop = threading.Event()
        threading.Thread(target=self._pump, args=(messages, out, stop), daemon=True, name="kl-llm").start()
        try:
            yield from self._drain(out, deadline)
        finally:  # finished, failed, or closed by the consumer
            stop.set()

    def _drain(self, out: queue.Queue, deadline: float) -> Iterator[Any]:
        first = True
        while True:
            wait = (deadline - time.monotonic()) if first else self.params.timeout_s
            try:
                item = out.get(timeout=max(0.0, wait))
            except queue.Empty:
                what, limit = ("no first token", self.params.first_token_timeout_s) if first else ("stream stalled", wait)
                raise GenerationError(f"{self.name}: {what} within {limit:.1f}s") from None
            if item is _END:
                return
            if isinstance(item, Exception):
                raise GenerationError(f"{self.name}: {type(item).__name__}: {str(item)[:300]}") from None
            first = False
            yield item

    def stream(
        self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Message] = ()
    ) -> Iterator[str | GenerationInfo]:
        messages = build_messages(question, sources, history, self.params.system_prompt, self.params.answer_prompt)
        deadline = time.monotonic() + self.params.first_token_timeout_s
        for attempt in range(self.params.max_retries + 1):
            started = False
            usage = None
            try:
                for chunk in self._attempt(messages, deadline):
                    usage = getattr(chunk, "usage", None) or usage
                    choices = getattr(chunk, "choices", None) or []
                    text = choices[0].delta.content if choices and choices[0].delta else None
                    if text:
                        started = True
                        yield text
                yield GenerationInfo(
                    self.name,
                    prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                    completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                )
                return
            except GenerationError as exc:
                pause = self.params.retry_backoff_s * 2**attempt
                if started or attempt == self.params.max_retries or time.monotonic() + pause >= deadline:
                    raise
                log.warning("%s; retrying in %.1fs", exc, pause)
                time.sleep(pause)
