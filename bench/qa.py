"""Answer quality on SQuAD-format data: index the paragraphs, ask every question through chat.py.

    python bench/qa.py                                  # xquad (en) and cmrc2018 (zh), default config
    python bench/qa.py --data FILE [--config FILE] [--limit N]

Scores: exact match and token F1 against the gold answers (SQuAD normalisation; characters for
Chinese), `contains` (a gold answer appears in the answer), `hit_at_k` (the gold paragraph is among the
retrieved sources). Prints one JSON object per dataset; writes bench/results/qa.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import string
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from retrieval import index_corpus  # noqa: E402

from kotaemon_like import registry  # noqa: E402
from kotaemon_like.chat import CitationEvent, DoneEvent, TokenEvent  # noqa: E402
from kotaemon_like.stores.analyzer import has_cjk  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
DATASETS = {"xquad_en": SHARED / "xquad" / "xquad.en.json", "cmrc2018_zh": SHARED / "cmrc2018" / "cmrc2018_dev.squad.json"}
_MARKERS = re.compile(r"\[\d+\]")
_PUNCT = set(string.punctuation) | set("，。！？；：、“”‘’（）《》【】…—")


def normalize(text: str) -> str:
    text = _MARKERS.sub(" ", text).lower()
    text = "".join(" " if ch in _PUNCT else ch for ch in text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    text = normalize(text)
    return [ch for ch in text if not ch.isspace()] if has_cjk(text) else text.split()


def f1(prediction: str, gold: str) -> float:
    pred, ref = tokens(prediction), tokens(gold)
    common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if not pred or not ref or common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def load_squad(path: Path) -> tuple[list[dict], list[dict]]:
    """(paragraph documents, questions with gold answers and paragraph id)."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs, questions = [], []
    for a, article in enumerate(data):
        for i, paragraph in enumerate(article["paragraphs"]):
            pid = f"{article.get('title', 'doc')}#{a}.{i}"  # titles repeat across articles in cmrc2018
            paragraphs.append({"_id": pid, "title": "", "text": paragraph["context"]})
            for qa in paragraph["qas"]:
                answers = [a["text"] for a in qa.get("answers", []) if a.get("text")]
                if answers:
                    questions.append({"question": qa["question"], "answers": answers, "paragraph": pid})
    return paragraphs, questions


def evaluate(name: str, path: Path, config: str, limit: int | None) -> dict:
    settings = registry.load(config)
    paragraphs, questions = load_squad(path)
    questions = questions[:limit] if limit else questions
    with tempfile.TemporaryDirectory(prefix="kl-qa-") as tmp:
        settings = settings.model_copy(update={"paths": settings.paths.model_copy(update={"index": Path(tmp)})})
        kb = registry.build_knowledge_base(settings)
        index_corpus(kb, paragraphs)
        engine = registry.build_chat(kb)
        em = f1_sum = contains = hits = 0.0
        generators: collections.Counter = collections.Counter()
        start = time.perf_counter()
        for n, q in enumerate(questions, start=1):
            answer, cited, generator = "", set(), "none"
            retrieved = {h.chunk.source for h in engine.retriever.retrieve(q["question"])}
            for event in engine.turn(q["question"], session_id=f"q{n}"):
                if isinstance(event, TokenEvent):
                    answer += event.text
                elif isinstance(event, CitationEvent):
                    cited.add(event.source)
                elif isinstance(event, DoneEvent):
                    generator = event.generator
            generators[generator] += 1
            em += max(float(normalize(answer) == normalize(g)) for g in q["answers"])
            f1_sum += max(f1(answer, g) for g in q["answers"])
            contains += float(any(normalize(g) in normalize(answer) for g in q["answers"]))
            hits += float(q["paragraph"] in retrieved)
            if n % 200 == 0:
                print(f"  {name}: {n}/{len(questions)} questions", file=sys.stderr)
        seconds = time.perf_counter() - start
        kb.close()
    count = len(questions)
    return {
        "dataset": name, "n": count, "em": round(em / count, 4), "f1": round(f1_sum / count, 4),
        "contains": round(contains / count, 4), "hit_at_k": round(hits / count, 4),
        "k": int(settings.retriever.params.get("top_k", 4)), "generator": generators.most_common(1)[0][0],
        "answered_share": round(1 - generators.get("none", 0) / count, 4),
        "ms_per_question": round(seconds * 1000 / count, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="a SQuAD-format JSON file")
    parser.add_argument("--name", help="dataset name in the output (default: the file name)")
    parser.add_argument("--config", default=str(ROOT / "config" / "default.yaml"))
    parser.add_argument("--limit", type=int, help="ask only the first N questions")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sets = {args.name or args.data.stem: args.data} if args.data else DATASETS
    out = args.out or (None if args.data else ROOT / "bench" / "results" / "qa.json")
    rows = []
    for name, path in sets.items():
        row = evaluate(name, path, args.config, args.limit)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        rows.append(row)
    if out:
        out.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
