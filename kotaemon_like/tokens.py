"""Token counts for answers that no LLM counted (the extractive generator, tool answers): cl100k_base.

The encoding file ships inside llama-index-core (already installed), so counting never downloads anything.
"""

from __future__ import annotations

import functools
import os


@functools.lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    from .bundled import llama_static_dir

    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(llama_static_dir() / "tiktoken_cache"))
    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """How many cl100k_base tokens `text` has (what OpenAI's gpt-4 / gpt-3.5 models would count)."""
    return len(_encoding().encode(text, disallowed_special=())) if text else 0
