"""Data files that ship inside llama-index-core (NLTK stop words, the tiktoken encoding), found without
importing llama-index, which takes seconds."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def llama_static_dir() -> Path:
    """llama-index-core's `_static` folder."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("llama-index-core is not installed; `pip install kotaemon-like` installs it")
    return Path(spec.submodule_search_locations[0]) / "_static"


def english_stopwords() -> list[str]:
    """NLTK's English stop words as llama-index ships them."""
    path = llama_static_dir() / "nltk_cache" / "corpora" / "stopwords" / "english"
    return [w for w in path.read_text(encoding="utf-8").split() if w]
