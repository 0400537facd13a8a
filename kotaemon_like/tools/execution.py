"""Run one plugin call with a hard deadline, whether `run` is sync, async, or hangs forever."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any, Callable


class ToolTimeout(TimeoutError):
    """The plugin did not answer within its timeout."""


def run_with_timeout(func: Callable[..., Any], kwargs: dict[str, Any], timeout_s: float, name: str = "tool") -> Any:
    """Call `func(**kwargs)` on a fresh daemon thread and wait at most `timeout_s`.

    A fresh thread per call (not a pool) because a hung sync plugin can never be stopped: it would
    hold a pool worker forever. The breaker bounds how many such threads a dead service can leave.
    Async plugins run in their own event loop under asyncio.wait_for, so they are cancelled cleanly.
    """
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            result = func(**kwargs)
            if inspect.isawaitable(result):
                result = asyncio.run(_bounded(result, timeout_s))
            outcome["value"] = result
        except BaseException as exc:  # delivered to the caller, who decides what counts
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=f"kl-tool-{name}", daemon=True).start()
    if not done.wait(timeout_s):
        raise ToolTimeout(f"no answer within {timeout_s:g}s")
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, TimeoutError) and not isinstance(error, ToolTimeout):
            raise ToolTimeout(str(error) or f"no answer within {timeout_s:g}s") from error
        raise error
    return outcome["value"]


async def _bounded(awaitable: Any, timeout_s: float) -> Any:
    return await asyncio.wait_for(awaitable, timeout_s)
