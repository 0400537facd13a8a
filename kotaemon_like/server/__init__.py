"""The HTTP API and the Gradio UI, on one FastAPI app."""
