#!/usr/bin/env bash
# Install everything the tests need on a fresh machine, then run them.
#   bash scripts/test.sh                  # the whole suite
#   bash scripts/test.sh -m "not slow"    # the quick subset (no model loading, no servers)
#   bash scripts/test.sh -m image         # the container image, built and run (scripts/rehearse-image.sh)
# Without -m the image tests are left out: a cold image build alone takes tens of minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

# CPU-only torch from PyTorch's wheel index (PyPI's Linux wheels pull in gigabytes of CUDA libraries)
# (where that index is out of reach, pip's own configured sources are tried for the same version)
python3 -c "import torch" 2>/dev/null \
    || python3 -m pip install -q --retries 1 --timeout 20 --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    || python3 -m pip install -q torch==2.13.0
python3 -m pip install -q torch==2.13.0 -c constraints.txt -e ".[test]"

# Debian packages the tests drive for real: Redis, PostgreSQL, headless Chromium (with CJK fonts), compose validation,
# Prometheus, Tesseract, Caddy (the stack's reverse proxy, in the replica rehearsal).
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v caddy >/dev/null 2>&1 || missing+=(caddy)
# OCR of scanned PDF pages (pymupdf drives Tesseract; it needs the language data)
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
[ -n "$(ls /usr/share/tesseract-ocr/*/tessdata/chi_sim.traineddata 2>/dev/null)" ] || missing+=(tesseract-ocr-chi-sim)
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing+=(fonts-noto-cjk)  # Chinese in the browser test
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export HF_HUB_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True GRADIO_ANALYTICS_ENABLED=False TOKENIZERS_PARALLELISM=false
marker=(-m "not image")
for arg in "$@"; do case "$arg" in -m|-m*) marker=() ;; esac; done
exec python3 -m pytest -q -p no:cacheprovider "${marker[@]}" "$@"
