"""Retrievers: vector, keyword, and the hybrid that fuses them."""
