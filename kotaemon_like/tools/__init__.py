"""Tool plugins: the contract, the loader, the circuit breaker, the embedded router and the Toolbox that runs them.

A plugin file in plugins/ imports from here: `from kotaemon_like.tools import ToolPlugin, ToolContext`.
"""

from .base import (
    FAILED,
    NEEDS_INPUT,
    OK,
    SKIPPED_OPEN,
    TIMEOUT,
    ToolContext,
    ToolError,
    ToolOutput,
    ToolPlugin,
    ToolResult,
)
from .breaker import CircuitBreaker
from .loader import PluginLoadError
from .router import RouteDecision
from .runner import PluginStatus, Toolbox

__all__ = [
    "FAILED", "NEEDS_INPUT", "OK", "SKIPPED_OPEN", "TIMEOUT",
    "CircuitBreaker", "PluginLoadError", "PluginStatus", "RouteDecision",
    "ToolContext", "ToolError", "ToolOutput", "ToolPlugin", "ToolResult", "Toolbox",
]
