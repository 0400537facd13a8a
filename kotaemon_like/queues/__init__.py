"""Ingest job queues: a Redis Stream for the stack, an in-process queue for the embedded mode."""
