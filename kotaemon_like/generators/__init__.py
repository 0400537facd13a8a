"""Generators: turn a question and numbered sources into a streamed answer."""
