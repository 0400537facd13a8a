"""kotaemon-like: a composable RAG framework for AI customer service."""

import os as _os

# Offline by default: models come from installed packages, never from a hub at run time.
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "GRADIO_ANALYTICS_ENABLED": "False",
}.items():
    _os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
