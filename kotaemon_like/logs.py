"""Logging set-up: one line per record, structured `extra` fields appended as key=value, secrets masked."""

from __future__ import annotations

import logging
import re
import sys

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}

# What a credential looks like wherever it turns up in text: the password of a URL, a bearer token,
# an API key (provider key shapes, or the value after a key-like name).
_SECRETS = (
    (re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]{0,20}://[^\s:/@]{0,256}:)[^\s@/]{1,256}(?=@)", re.I), r"\g<keep>***"),
    (re.compile(r"(?P<keep>\bbearer\s{1,10})[A-Za-z0-9._~+/=-]{1,4096}", re.I), r"\g<keep>***"),
    (re.compile(r"\b(?:sk|pk|rk|gsk|xai|hf|ghp|gho|github_pat|glpat|AKIA)[-_][A-Za-z0-9_-]{8,256}"), "***"),
    (re.compile(
        r"(?P<keep>\b[\w.-]{0,40}(?:api[_-]?key|apikey|secret|password|passwd|token|authorization|x-api-key)[\"']?"
        r"\s{0,5}[:=]\s{0,5}[\"']?)(?!\*\*\*)[^\s\"',;&}]{1,4096}", re.I),
     r"\g<keep>***"),
)


def redact(text: str) -> str:
    """`text` with URL passwords, bearer tokens and API keys replaced by ***."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class KeyValueFormatter(logging.Formatter):
    """`message key=value ...`, with every credential in the line masked (messages, extras, tracebacks)."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        return redact(line + "".join(f" {k}={v!r}" for k, v in extras.items()))


def setup_logging(level: str = "WARNING") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "sentence_transformers", "transformers", "faiss"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
