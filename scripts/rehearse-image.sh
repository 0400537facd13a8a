#!/usr/bin/env bash
# Build the image and run the app's containers for real, the way compose.yaml runs them: Redis and
# PostgreSQL, then the app, the watcher and the indexer, with their compose commands and healthchecks
# (host networking, free ports, a mounted knowledge folder, named index and state volumes). Waits for
# the app's HEALTHCHECK, drops a PDF into the folder, asks the API until the answer cites it, stops
# everything it started, and prints image size, build time, time to healthy and time to the first
# cited answer.
#   bash scripts/rehearse-image.sh                  # Podman when installed, else Docker
#   KL_ENGINE=docker bash scripts/rehearse-image.sh
# Settings (environment): KL_ENGINE, KL_IMAGE (default localhost/kotaemon-like:rehearsal),
# KL_REHEARSE_TIMEOUT_S (per wait, default 900), KL_PYTHON_IMAGE (skip the base image step).
# Without a reachable registry the base images are made from Debian packages (debootstrap, as root).
# Qdrant and Grafana cannot be made that way: the vectors stay in the embedded FAISS store in the
# shared index volume, and Grafana is not started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

log() { printf '[rehearse %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s; }

IMAGE=${KL_IMAGE:-localhost/kotaemon-like:rehearsal}
TIMEOUT_S=${KL_REHEARSE_TIMEOUT_S:-900}
BASE_LOCAL=localhost/kl-python:3.11-bookworm
DEBIAN_MIRROR=${KL_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# ---- the container engine ----------------------------------------------------------------------
apt_install() {
    command -v apt-get >/dev/null || die "$* missing and no apt-get here: install them with your package manager"
    [ "$(id -u)" = 0 ] || die "$* missing: run as root once, or: sudo apt-get install --no-install-recommends $*"
    log "installing Debian packages: $*"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ENGINE=${KL_ENGINE:-}
if [ -z "$ENGINE" ]; then
    if command -v podman >/dev/null; then ENGINE=podman
    elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then ENGINE=docker
    else apt_install podman runc uidmap; ENGINE=podman
    fi
fi
ENGINE_FLAGS=()
if [ "$ENGINE" = podman ]; then
    command -v runc >/dev/null || apt_install runc
    # runc, not crun: crun cannot apply its cgroup setup on some hosts (cgroup v1 inside VMs).
    ENGINE_FLAGS=(--runtime runc)
fi
engine() { "$ENGINE" "${ENGINE_FLAGS[@]}" "$@"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kl-rehearse.XXXXXX")
RUN_ID=kl-rehearse-$$
CONTAINERS=()
VOLUMES=()
cleanup() {
    local rc=$?
    if [ ${#CONTAINERS[@]} -gt 0 ]; then
        log "stopping ${CONTAINERS[*]}"
        engine stop -t 20 "${CONTAINERS[@]}" >/dev/null 2>&1 || true
        engine rm -f "${CONTAINERS[@]}" >/dev/null 2>&1 || true
    fi
    [ ${#VOLUMES[@]} -gt 0 ] && engine volume rm -f "${VOLUMES[@]}" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$ENGINE" = podman ]; then
    # Podman's default per-container ulimits are refused inside some sandboxes; ours set none.
    printf '[containers]\ndefault_ulimits = []\n' > "$WORK/containers.conf"
    export CONTAINERS_CONF=$WORK/containers.conf
fi
log "engine: $ENGINE ${ENGINE_FLAGS[*]}; work folder $WORK"

# ---- base images: from a registry, else from Debian packages -----------------------------------
have_image() { engine image inspect "$1" >/dev/null 2>&1; }
pull() { have_image "$1" || timeout 120 "$ENGINE" pull -q "$1" >/dev/null 2>&1; }

make_debian_base() {
    have_image "$BASE_LOCAL" && return 0
    command -v debootstrap >/dev/null || apt_install debootstrap
    [ "$(id -u)" = 0 ] || die "no registry reachable and debootstrap needs root: run once as root to make $BASE_LOCAL"
    log "no registry: making $BASE_LOCAL with debootstrap (bookworm minbase, a few minutes)"
    local rootfs=$WORK/rootfs
    debootstrap --variant=minbase --include=python3.11,python3-pip,python3-venv,ca-certificates \
        bookworm "$rootfs" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | engine import --change 'CMD ["python3"]' - "$BASE_LOCAL" >/dev/null
    rm -rf "$rootfs"
}

# A service image from its Debian package, on the local base (the registry's images are used when
# they can be pulled). Each takes the same command line as the official image. The tag carries a
# hash of its Containerfile, so a changed recipe is built again instead of reusing a stale image.
make_debian_service() {  # variable-to-set name packages...
    local var=$1 name=$2 tag; shift 2
    mkdir -p "$WORK/$name"
    printf 'FROM %s\nRUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends %s && rm -rf /var/lib/apt/lists/*\n' \
        "$BASE_LOCAL" "$*" > "$WORK/$name/Containerfile"
    if [ "$name" = postgres ]; then
        # The official image's contract: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB, then `postgres ARGS`.
        # UTF8 as there: without a locale initdb picks SQL_ASCII, and psycopg then returns bytes for text.
        cat >> "$WORK/$name/Containerfile" <<'EOF'
RUN printf '%s\n' '#!/bin/sh' 'set -e' 'export PGDATA=/tmp/pgdata' \
      'printf "%s\n" "$POSTGRES_PASSWORD" > /tmp/pwfile' \
      'initdb -U "$POSTGRES_USER" -E UTF8 --locale=C.UTF-8 --auth=scram-sha-256 --pwfile=/tmp/pwfile >/tmp/initdb.log' \
      'rm /tmp/pwfile; echo "CREATE DATABASE \"$POSTGRES_DB\";" | postgres --single -D "$PGDATA" postgres >/dev/null' \
      'shift; exec postgres -k /tmp "$@"' > /usr/local/bin/pg-entrypoint && chmod +x /usr/local/bin/pg-entrypoint
USER postgres
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
ENTRYPOINT ["/usr/local/bin/pg-entrypoint"]
EOF
    fi
    tag=localhost/kl-$name:bookworm-$(sha256sum < "$WORK/$name/Containerfile" | cut -c1-12)
    printf -v "$var" '%s' "$tag"
    have_image "$tag" && return 0
    log "making $tag from Debian packages: $*"
    nice -n 10 "$ENGINE" "${ENGINE_FLAGS[@]}" build --network host -t "$tag" "$WORK/$name" >"$WORK/$name/build.log" 2>&1 \
        || { tail -20 "$WORK/$name/build.log" >&2; die "building $tag failed (log above)"; }
}

PYTHON_IMAGE=${KL_PYTHON_IMAGE:-}
REDIS_IMAGE=docker.io/library/redis:7-alpine
POSTGRES_IMAGE=docker.io/library/postgres:15-alpine
if [ -z "$PYTHON_IMAGE" ]; then
    if pull docker.io/library/python:3.11-slim-bookworm && pull "$REDIS_IMAGE" && pull "$POSTGRES_IMAGE"; then
        PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm
    else
        log "no registry images (python, redis, postgres) could be pulled; using Debian packages instead"
        log "Qdrant and Grafana have no Debian packages: the rehearsal uses the embedded FAISS store and no Grafana"
        make_debian_base
        make_debian_service REDIS_IMAGE redis redis-server
        make_debian_service POSTGRES_IMAGE postgres postgresql
        PYTHON_IMAGE=$BASE_LOCAL
    fi
fi

# ---- build our image, with this machine's package sources --------------------------------------
pip_setting() {  # env var, then pip's own configuration
    local var=$1 key=$2
    if [ -n "${!var:-}" ]; then printf '%s' "${!var}"; return; fi
    python3 -m pip config get "global.$key" 2>/dev/null || true
}
BUILD_ARGS=(--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE")
MOUNTS=()
mount_local() {  # a local folder or file:// URL, mounted read-only at the same path
    local path=${1#file://}
    [ -e "$path" ] || return 0
    [ -d "$path" ] || path=$(dirname "$path")
    case "$path" in */simple) path=$(dirname "$path") ;; esac
    MOUNTS+=(-v "$path:$path:ro")
}
cert=$(pip_setting PIP_CERT cert)
if [ -n "$cert" ] && [ -f "$cert" ]; then
    MOUNTS+=(-v "$(dirname "$cert"):/run/kl-ca:ro")
    BUILD_ARGS+=(--build-arg "PIP_CERT=/run/kl-ca/$(basename "$cert")")
fi
for pair in PIP_INDEX_URL:index-url PIP_EXTRA_INDEX_URL:extra-index-url PIP_FIND_LINKS:find-links; do
    value=$(pip_setting "${pair%%:*}" "${pair#*:}" | tr '\n' ' ' | sed 's/ *$//')
    [ -n "$value" ] || continue
    BUILD_ARGS+=(--build-arg "${pair%%:*}=$value")
    for item in $value; do case "$item" in /*|file://*) mount_local "$item" ;; esac; done
done
# A CPU torch wheel in the local wheel folder replaces the PyTorch index (unreachable without internet).
for item in $(pip_setting PIP_FIND_LINKS find-links); do
    if compgen -G "${item#file://}/torch-2.13.0+cpu-*.whl" >/dev/null; then BUILD_ARGS+=(--build-arg TORCH_INDEX_URL=); fi
done
if [ "$ENGINE" = docker ] && [ ${#MOUNTS[@]} -gt 0 ]; then
    log "docker build cannot mount folders: building with the public package index instead of ${MOUNTS[*]}"
    MOUNTS=()
    BUILD_ARGS=(--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE")
fi
log "building $IMAGE from $PYTHON_IMAGE ${BUILD_ARGS[*]:2}"
build_start=$(now)
# --format docker keeps the HEALTHCHECK (the OCI image format has no field for it).
build_flags=(--network host -t "$IMAGE")
[ "$ENGINE" = podman ] && build_flags+=(--format docker --layers)
nice -n 10 "$ENGINE" "${ENGINE_FLAGS[@]}" build "${build_flags[@]}" "${MOUNTS[@]}" "${BUILD_ARGS[@]}" . \
    >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; die "the image build failed (log above)"; }
BUILD_S=$(( $(now) - build_start ))
CACHED=$(grep -c -i -E 'using cache|CACHED' "$WORK/build.log" || true)
SIZE_BYTES=$(engine image inspect --format '{{.Size}}' "$IMAGE")
log "built in ${BUILD_S}s ($CACHED steps from cache), $(( SIZE_BYTES / 1000000 )) MB"

# ---- compose.yaml's commands and healthchecks, and the rehearsal config -------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
APP_PORT=$(free_port) WATCH_PORT=$(free_port) INDEX_PORT=$(free_port) REDIS_PORT=$(free_port) PG_PORT=$(free_port)
mkdir -p "$WORK/config" "$WORK/knowledge"
chmod 0777 "$WORK/knowledge" "$WORK/config"   # the image's non-root user writes here
cp -r config/. "$WORK/config/"
# Read by the image's own Python (PyYAML): compose's commands and healthchecks with this run's ports
# (host networking: 127.0.0.1 instead of 0.0.0.0), and config/stack.yaml with the FAISS store.
engine run --rm -i --network none --user 0 --entrypoint python \
    -v "$ROOT/compose.yaml:/in/compose.yaml:ro" -v "$WORK/config:/out" \
    -e APP_PORT="$APP_PORT" -e WATCH_PORT="$WATCH_PORT" -e INDEX_PORT="$INDEX_PORT" \
    "$IMAGE" - >"$WORK/compose.env" <<'PY'
import os, re, shlex, yaml

compose = yaml.safe_load(open("/in/compose.yaml"))["services"]
ports = {"8080": os.environ["APP_PORT"], "9101": os.environ["WATCH_PORT"], "9102": os.environ["INDEX_PORT"]}

def local(text):
    text = re.sub(r"\b(8080|9101|9102)\b", lambda m: ports[m[1]], str(text))
    return text.replace("0.0.0.0", "127.0.0.1")

for name in ("app", "watcher", "indexer"):
    service = compose[name]
    print(f"CMD_{name.upper()}=({' '.join(shlex.quote(local(a)) for a in service['command'])})")
    test = [str(t).replace("$$", "$") for t in service["healthcheck"]["test"]]
    shell = test[1] if test[0] == "CMD-SHELL" else " ".join(shlex.quote(t) for t in test[1:])
    print(f"HEALTH_{name.upper()}={shlex.quote(local(shell))}")
    mounts = [str(v) for v in service["volumes"]]
    print(f"KNOWLEDGE_MODE_{name.upper()}={'ro' if any(m.startswith('./data/knowledge:') and m.endswith(':ro') for m in mounts) else 'rw'}")

stack = yaml.safe_load(open("/out/stack.yaml"))
# No Qdrant server can be made here: the vectors go to the FAISS store in the shared index volume,
# which app and indexer share by design (writers lock, readers reload on change).
stack["vector_store"] = {"type": "faiss"}
stack["watcher"]["quiet_s"] = 0.3
url = str((stack.get("conversations") or {}).get("url", ""))
var = re.match(r"\$\{(\w+)", url)
print(f"CONVERSATIONS_VAR={var[1] if var else ''}")
yaml.safe_dump(stack, open("/out/stack.yaml", "w"), sort_keys=False)
PY
# shellcheck disable=SC1091
source "$WORK/compose.env"

# ---- start: stores first, then app, watcher and indexer (compose's order) ----------------------
secret() { tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true; }
API_KEY=$(secret) PG_PASSWORD=$(secret)
RUN_FLAGS=(--network host --security-opt label=disable)

start() {  # name, then engine run arguments
    local name=$RUN_ID-$1; shift
    CONTAINERS+=("$name")
    # Podman without systemd logs that it cannot schedule healthchecks; healthy() runs them instead.
    engine run -d --name "$name" "${RUN_FLAGS[@]}" "$@" >/dev/null 2>"$WORK/run.err" \
        || { cat "$WORK/run.err" >&2; die "could not start $name"; }
}
healthy() {  # container: run its healthcheck once; fail loudly when it has exited
    local name=$RUN_ID-$1
    [ "$(engine inspect -f '{{.State.Running}}' "$name")" = true ] \
        || { engine logs --tail 60 "$name" >&2; die "$1 exited (its last log lines are above)"; }
    if [ "$ENGINE" = podman ]; then
        # Podman runs healthchecks from systemd timers; without systemd we run them ourselves.
        engine healthcheck run "$name" >/dev/null 2>&1
    else
        [ "$(engine inspect -f '{{.State.Health.Status}}' "$name")" = healthy ]
    fi
}
wait_for() {  # what, command...
    local what=$1 deadline=$(( $(now) + TIMEOUT_S )); shift
    until "$@"; do
        [ "$(now)" -lt "$deadline" ] || die "$what: not within ${TIMEOUT_S}s"
        sleep 2
    done
}

log "starting redis ($REDIS_IMAGE) on :$REDIS_PORT and postgres ($POSTGRES_IMAGE) on :$PG_PORT"
start redis --health-cmd "redis-cli -p $REDIS_PORT ping | grep -q PONG" \
    "$REDIS_IMAGE" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --appendonly yes --save 60 1000
start postgres --health-cmd "pg_isready -q -h 127.0.0.1 -p $PG_PORT -U kl" \
    -e POSTGRES_USER=kl -e POSTGRES_DB=kl -e POSTGRES_PASSWORD="$PG_PASSWORD" \
    "$POSTGRES_IMAGE" postgres -p "$PG_PORT" -c listen_addresses=127.0.0.1
wait_for "redis healthy" healthy redis
wait_for "postgres healthy" healthy postgres

INDEX_VOLUME=$RUN_ID-index STATE_VOLUME=$RUN_ID-state
VOLUMES+=("$INDEX_VOLUME" "$STATE_VOLUME")
engine volume create "$INDEX_VOLUME" >/dev/null
engine volume create "$STATE_VOLUME" >/dev/null
KL_ENV=(-e "REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0" -e KL_METRICS_HOST=127.0.0.1)
APP_ENV=(-e "KL_PORT=$APP_PORT" -e KL_STATE_DIR=/data/state -e "KL_API_KEY=$API_KEY" -e ORDERS_URL=http://127.0.0.1:9)
PG_URL="postgresql+psycopg://kl:$PG_PASSWORD@127.0.0.1:$PG_PORT/kl"
if [ -n "$CONVERSATIONS_VAR" ]; then
    APP_ENV+=(-e "$CONVERSATIONS_VAR=$PG_URL")
    log "the app keeps conversations in postgres (\$$CONVERSATIONS_VAR)"
else
    log "config/stack.yaml names no conversations store yet: postgres runs, the app does not use it"
fi
mounts() {  # service: compose's volumes for it, with this run's folders
    local mode_var=KNOWLEDGE_MODE_${1^^}
    printf '%s\n' -v "$WORK/knowledge:/data/knowledge:${!mode_var}" -v "$ROOT/plugins:/app/plugins:ro" \
        -v "$WORK/config:/app/config:ro" -v "$INDEX_VOLUME:/data/index"
}
mapfile -t APP_MOUNTS < <(mounts app)
mapfile -t WATCH_MOUNTS < <(mounts watcher)
mapfile -t INDEX_MOUNTS < <(mounts indexer)

app_start=$(now)
# The app keeps the image's own HEALTHCHECK; watcher and indexer get compose's.
start app "${KL_ENV[@]}" "${APP_ENV[@]}" "${APP_MOUNTS[@]}" -v "$STATE_VOLUME:/data/state" "$IMAGE" "${CMD_APP[@]}"
start watcher --health-cmd "$HEALTH_WATCHER" "${KL_ENV[@]}" "${WATCH_MOUNTS[@]}" "$IMAGE" "${CMD_WATCHER[@]}"
start indexer --health-cmd "$HEALTH_INDEXER" "${KL_ENV[@]}" "${INDEX_MOUNTS[@]}" "$IMAGE" "${CMD_INDEXER[@]}"
log "app on 127.0.0.1:$APP_PORT, watcher metrics :$WATCH_PORT, indexer metrics :$INDEX_PORT; waiting for the HEALTHCHECKs"
wait_for "the app's HEALTHCHECK" healthy app
HEALTHY_S=$(( $(now) - app_start ))
wait_for "the watcher's healthcheck" healthy watcher
wait_for "the indexer's healthcheck" healthy indexer
log "app healthy after ${HEALTHY_S}s; watcher and indexer healthy after $(( $(now) - app_start ))s"

# ---- a PDF dropped into the folder, then asked about until the answer cites it ------------------
PDF=aurora-heat-pump-warranty.pdf
QUESTION="How many years does the Aurora 7 warranty cover the compressor?"
engine run --rm --network none --user 0 --entrypoint python -v "$WORK:/out" "$IMAGE" -c '
import pymupdf
doc = pymupdf.open()
page = doc.new_page()
page.insert_textbox(pymupdf.Rect(72, 72, 520, 400), (
    "Aurora 7 heat pump: warranty terms. The Aurora 7 warranty covers the compressor for twelve years "
    "from the date of installation. Other parts, including fans, valves and the controller board, are "
    "covered for five years. Keep the installation receipt: it is the proof of the installation date."),
    fontsize=12)
doc.new_page().insert_text((72, 72), "Service contacts are listed on the back of the outdoor unit.")
doc.save("/out/'"$PDF"'.part")'
mv "$WORK/$PDF.part" "$WORK/knowledge/$PDF.part"
drop_start=$(now)
mv "$WORK/knowledge/$PDF.part" "$WORK/knowledge/$PDF"   # renamed into place, like a finished download
log "dropped $PDF into the knowledge folder; asking: $QUESTION"
ask() {
    curl -sf -m 60 -H "Authorization: Bearer $API_KEY" -H 'content-type: application/json' \
        -d "{\"message\": \"$QUESTION\", \"stream\": false}" "http://127.0.0.1:$APP_PORT/api/chat" >"$WORK/answer.json" \
        && python3 -c 'import json, sys
body = json.load(open(sys.argv[1]))
sys.exit(0 if any(c.get("source") == sys.argv[2] for c in body.get("citations", [])) else 1)' "$WORK/answer.json" "$PDF"
}
wait_for "an answer citing $PDF" ask
ANSWER_S=$(( $(now) - drop_start ))
python3 -c 'import json, sys
body = json.load(open(sys.argv[1]))
print("answer:", " ".join(body["answer"].split())[:300])
for c in body["citations"]:
    print("  cited:", c["source"], "page", c.get("page"))' "$WORK/answer.json"
# Without the key the API refuses: the container really runs with KL_API_KEY set.
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -H 'content-type: application/json' -d '{"message": "hi"}' \
    "http://127.0.0.1:$APP_PORT/api/chat")
[ "$code" = 401 ] || die "the API answered $code without the API key, expected 401"

printf '\n%-28s %s\n' "engine" "$ENGINE ${ENGINE_FLAGS[*]}"
printf '%-28s %s\n' "base image" "$PYTHON_IMAGE"
printf '%-28s %s MB\n' "image size" "$(( SIZE_BYTES / 1000000 ))"
printf '%-28s %s s (%s steps from cache)\n' "build time" "$BUILD_S" "$CACHED"
printf '%-28s %s s\n' "time to healthy (app)" "$HEALTHY_S"
printf '%-28s %s s\n' "time to first cited answer" "$ANSWER_S"
echo "rehearsal passed"
