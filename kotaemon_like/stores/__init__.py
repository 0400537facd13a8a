"""Persistent stores: vector stores and the keyword (BM25) index."""
