"""No input can make a shipped pattern or the router work for long, and no credential reaches a log line."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from kotaemon_like.logs import KeyValueFormatter, redact
from kotaemon_like.tools.base import ROUTE_PREFIX_CHARS
from kotaemon_like.tools.loader import load_file

from .conftest import ROOT

PLUGINS = sorted((ROOT / "plugins").glob("*.py"))
HOSTILE = ("a" * 200_000, "a." * 100_000, "a@" * 100_000, "1" * 200_000, "1-" * 100_000 + "x", "+1 " * 60_000)


def load_plugin_file(path: Path):
    specs, error = load_file(path)
    assert error is None, error
    return specs


def shipped_patterns() -> list[tuple[str, str]]:
    found = []
    for path in PLUGINS:
        for spec in load_plugin_file(path):
            found += [(f"{spec.cls.name}.{key}", pattern) for key, pattern in spec.cls.patterns.items()]
    return found


def test_shipped_patterns_are_linear_on_hostile_input():
    """Each pattern over 200,000 characters: the old contact pattern took hours on this; a linear one takes
    a moment. Run in a child process with a generous bound so a regression fails instead of hanging the suite."""
    patterns = shipped_patterns()
    assert any(name == "create_ticket.contact" for name, _ in patterns)
    script = (
        "import re, sys, json\n"
        "patterns, texts = json.loads(sys.stdin.read())\n"
        "for name, pattern in patterns:\n"
        "    for text in texts:\n"
        "        re.search(pattern, text, re.IGNORECASE)\n"
    )
    import json

    run = subprocess.run([sys.executable, "-c", script], input=json.dumps([patterns, list(HOSTILE)]),
                         text=True, capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_contact_pattern_still_finds_addresses_and_numbers():
    (spec,) = [s for p in PLUGINS for s in load_plugin_file(p) if s.cls.name == "create_ticket"]
    find = spec.cls.match_patterns
    assert find("mail jane.doe+x@example.co.uk please") == {"contact": "jane.doe+x@example.co.uk"}
    assert find("call me on +1 (555) 123-4567 today") == {"contact": "+1 (555) 123-4567"}
    assert find("my email is bob@shop.com.") == {"contact": "bob@shop.com"}
    assert find("a" * 50_000) == {}


def test_routing_sees_only_a_bounded_prefix():
    (spec,) = [s for p in PLUGINS for s in load_plugin_file(p) if s.cls.name == "create_ticket"]
    late = "x " * ROUTE_PREFIX_CHARS + "reach me at late@example.com"
    assert spec.cls.match_patterns(late) == {}
    assert spec.cls.match_patterns("reach me at early@example.com " + "x " * 1_000_000) == {"contact": "early@example.com"}


def test_credentials_are_masked_in_text():
    assert redact("connecting to redis://:hunter2pass@redis:6379/0") == "connecting to redis://:***@redis:6379/0"
    assert redact("postgresql://kl:s3cr3t@db/kl") == "postgresql://kl:***@db/kl"
    assert redact("Authorization: Bearer abc.def-ghi") .count("abc") == 0
    assert "sk-proj1234567890abcdef" not in redact("key sk-proj1234567890abcdef rejected")
    assert redact("api_key=zzz9 password: 'p4ss'") == "api_key=*** password: '***'"
    assert redact("see https://example.com/a@b and 3 items") == "see https://example.com/a@b and 3 items"


def test_every_log_line_is_masked(caplog):
    record = logging.LogRecord("kl", logging.WARNING, __file__, 1, "Redis at %s is down", ("redis://:hunter2pass@r:6379",), None)
    record.url = "redis://user:topsecret@r/0"
    try:
        raise RuntimeError("login failed for token=abcdef123")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    line = KeyValueFormatter("%(levelname)s %(message)s").format(record)
    for secret in ("hunter2pass", "topsecret", "abcdef123"):
        assert secret not in line
    assert "redis://:***@r:6379" in line and "RuntimeError" in line
