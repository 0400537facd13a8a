"""Citation markers in a streamed answer: keep [n] that point at a retrieved source, drop the rest."""

from __future__ import annotations

import re

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_OPEN_MARKER = re.compile(r"\[[\d,\s]*$")


class CitationFilter:
    """Feed text deltas; get back text with invented source numbers removed. Markers split over
    several deltas ("[", "1", "]") are held back until they are complete."""

    def __init__(self, valid: int):
        self.valid = valid
        self.cited: list[int] = []
        self._held = ""

    def _clean(self, text: str) -> str:
        def keep(match: re.Match[str]) -> str:
            numbers = [int(n) for n in match.group(1).split(",")]
            good = [n for n in numbers if 1 <= n <= self.valid]
            for n in good:
                if n not in self.cited:
                    self.cited.append(n)
            return "".join(f"[{n}]" for n in good)

        return _MARKER.sub(keep, text)

    def feed(self, delta: str) -> str:
        text = self._held + delta
        open_marker = _OPEN_MARKER.search(text)
        if open_marker and len(text) - open_marker.start() <= 16:
            self._held, text = text[open_marker.start():], text[: open_marker.start()]
        else:
            self._held = ""
        return self._clean(text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._clean(text)
