"""Conversation memory, keyed by session id."""
