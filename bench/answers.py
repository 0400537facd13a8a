"""Answer quality on customer-style questions over real PDFs, through chat.py with the offline default config.

    nice -n 10 python bench/answers.py                      # this checkout, plus the baseline commit below
    nice -n 10 python bench/answers.py --baseline REF       # compare against another commit (default: BASELINE)
    nice -n 10 python bench/answers.py --split inlet --out bench/results/answers_inlet.json  # inlet alone, once
    python bench/answers.py --check                         # every expected fact is on an expected page (all splits)

The questions (bench/answers_set.json) were written for this benchmark: paraphrased, casual, with typos,
English, Chinese, and Chinese about English documents (`zh-en`); some the documents do not answer.
Every third question is held back (fixed rule, decided before any result): tune on `tuning` only.
bench/answers_unseen.json is a second held-back split (`unseen`), written after the first one's results had
been printed, and never tuned on. bench/answers_fresh.json (`fresh`) was written blind after every earlier split
had been tuned on; run it once (`--split fresh`). bench/answers_blind.json (`blind`) was written blind after
every earlier split, fresh included, had been tuned on; it was run once, and has been tuned on since.
bench/answers_sealed.json (`sealed`) was written blind after blind had been tuned on; run once, tuned on since.
bench/answers_vault.json (`vault`) was written blind after every earlier split, sealed included, had been tuned
on; run once, tuned on since. bench/answers_harbor.json (`harbor`) was written blind after vault had been tuned
on; run once, tuned on since. bench/answers_quay.json (`quay`) was written blind after harbor had been run; run once, tuned on since.
bench/answers_wharf.json (`wharf`) was written blind after quay had been run; run once, tuned on since.
bench/answers_jetty.json (`jetty`) was written blind after wharf had been run; run once, tuned on since.
bench/answers_kelp.json (`kelp`) was written blind after jetty had been run; run once, tuned on since.
bench/answers_shoal.json (`shoal`) was written blind after kelp had been run; run once, tuned on since.
bench/answers_cove.json (`cove`) was written blind after shoal had been run; run once, tuned on since.
bench/answers_lagoon.json (`lagoon`) was written blind after cove had been run; run once, tuned on since.
bench/answers_atoll.json (`atoll`) was written blind after lagoon had been run; run once, tuned on since.
bench/answers_fjord.json (`fjord`) was written blind after atoll had been run; run once, tuned on since.
bench/answers_inlet.json (`inlet`) was written blind after fjord had been run: a run without --split leaves it out
(LOCKED), so only `--split inlet` asks its questions; run it once.
Scores per split and language: `page_hit` (an expected page among the retrieved sources), `cited_hit` (the
answer cites an expected page), `contains` (the answer holds an expected fact), `false_abstain` (an
answerable question refused), `abstain` (an unanswerable question refused). Writes bench/results/answers.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "bench" / "answers_set.json"
UNSEEN = ROOT / "bench" / "answers_unseen.json"  # a second held-back split, written later; never tuned on
FRESH = ROOT / "bench" / "answers_fresh.json"  # written blind after every earlier split had been tuned on; run once
BLIND = ROOT / "bench" / "answers_blind.json"  # written blind after fresh had been tuned on; run once, tuned on since
SEALED = ROOT / "bench" / "answers_sealed.json"  # written blind after blind had been tuned on; run once, tuned on since
VAULT = ROOT / "bench" / "answers_vault.json"  # written blind after sealed had been tuned on; run once, tuned on since
HARBOR = ROOT / "bench" / "answers_harbor.json"  # written blind after vault had been tuned on; run once, tuned on since
QUAY = ROOT / "bench" / "answers_quay.json"  # written blind after harbor had been run; run once, tuned on since
WHARF = ROOT / "bench" / "answers_wharf.json"  # written blind after quay had been run; run once, tuned on since
JETTY = ROOT / "bench" / "answers_jetty.json"  # written blind after wharf had been run; run once, tuned on since
KELP = ROOT / "bench" / "answers_kelp.json"  # written blind after jetty had been run; run once, tuned on since
SHOAL = ROOT / "bench" / "answers_shoal.json"  # written blind after kelp had been run; run once, tuned on since
COVE = ROOT / "bench" / "answers_cove.json"  # written blind after shoal had been run; run once, tuned on since
LAGOON = ROOT / "bench" / "answers_lagoon.json"  # written blind after cove had been run; run once, tuned on since
ATOLL = ROOT / "bench" / "answers_atoll.json"  # written blind after lagoon had been run; run once, tuned on since
FJORD = ROOT / "bench" / "answers_fjord.json"  # written blind after atoll had been run; run once, tuned on since
INLET = ROOT / "bench" / "answers_inlet.json"  # written blind after fjord had been run; only with --split inlet
# the split a run leaves out unless it names it, so tuning never sees it: (path, question id prefix, split)
LOCKED_FILE = (INLET, "inlet", "inlet")
LOCKED = LOCKED_FILE[2]
# the later files, each as (path, question id prefix, split), in the order they were written; LOCKED's is asked alone
LATER = [(UNSEEN, "new", "unseen"), (FRESH, "fresh", "fresh"), (BLIND, "blind", "blind"), (SEALED, "sealed", "sealed"),
         (VAULT, "vault", "vault"), (HARBOR, "harbor", "harbor"), (QUAY, "quay", "quay"), (WHARF, "wharf", "wharf"),
         (JETTY, "jetty", "jetty"), (KELP, "kelp", "kelp"), (SHOAL, "shoal", "shoal"), (COVE, "cove", "cove"),
         (LAGOON, "lagoon", "lagoon"), (ATOLL, "atoll", "atoll"), (FJORD, "fjord", "fjord")]
PDFS = Path(os.environ.get("KL_SHARED_DATA", ROOT.parent / "shared" / "data")) / "pdfs"
# the PDFs with a text layer (the scanned ones would measure OCR, not answers)
DOCUMENTS = [
    "debian-faq.en.pdf", "federal-register-2020-17221.pdf", "MTRAG-UN-arxiv.pdf",
    "redp5110_sampled.pdf", "mineru_intro_zh.pdf", "normal_4pages_ko.pdf",
]
BASELINE = "69fc3af"  # main before the FAQ-entry extraction changes (README table)
_CJK = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"


def normalize(text: str) -> str:
    """Lower case, citation markers and PDF line-wrap artefacts removed, so facts match however they were wrapped."""
    text = re.sub(r"\[\d+\]", " ", text)
    text = text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u0300": ""}))
    text = re.sub(r"(?<=[a-z])- (?=[a-z])", "", text.lower())
    text = " ".join(text.split())
    return re.sub(rf"(?<={_CJK}) (?={_CJK})", "", text)


def has_fact(answer: str, facts: list[str]) -> bool:
    text = normalize(answer)
    return any(normalize(f) in text for f in facts)


def load_set(locked: bool = False) -> tuple[list[dict], list[dict]]:
    """(answerable, unanswerable) of every file, each question with its id and split; the LOCKED split only when
    asked."""
    data = json.loads(SET.read_text(encoding="utf-8"))
    files = LATER + ([LOCKED_FILE] if locked else [])
    later = [(json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}, prefix, split)
             for path, prefix, split in files]
    out = []
    for kind in ("answerable", "unanswerable"):
        items = []
        for i, item in enumerate(data[kind]):
            items.append({**item, "id": f"{kind[0]}{i}", "split": "held_back" if i % 3 == 2 else "tuning"})
        for extra, prefix, split in later:
            for i, item in enumerate(extra.get(kind, [])):
                items.append({**item, "id": f"{prefix}-{kind[0]}{i}", "split": split})
        out.append(items)
    return out[0], out[1]


def check() -> int:
    """Every expected fact appears on one of its expected pages (PDF text, normalised)."""
    import pymupdf

    answerable, _ = load_set(locked=True)
    pages: dict[str, list[str]] = {}
    bad = 0
    for q in answerable:
        if q["doc"] not in pages:
            with pymupdf.open(PDFS / q["doc"]) as pdf:
                pages[q["doc"]] = [normalize(p.get_text()) for p in pdf]
        texts = [pages[q["doc"]][p - 1] for p in q["pages"]]
        if not any(normalize(f) in t for f in q["facts"] for t in texts):
            bad += 1
            print(f"{q['id']}: no fact of {q['facts']} on pages {q['pages']} of {q['doc']}")
    print(f"{len(answerable) - bad}/{len(answerable)} questions have a fact on an expected page")
    return 1 if bad else 0


def run(config: str, label: str, workdir: Path | None = None, split: list[str] | None = None) -> dict:
    """Index the documents with `config` and ask every question; the per-question rows and the summary.
    With `workdir` the index is kept there, and a rerun re-embeds only what changed (like `kl index`)."""
    from kotaemon_like import registry
    from kotaemon_like.chat import CitationEvent, DoneEvent, TokenEvent

    everything = load_set(locked=bool(split and LOCKED in split))
    answerable, unanswerable = ([q for q in questions if not split or q["split"] in split] for questions in everything)
    rows = []
    with tempfile.TemporaryDirectory(prefix="kl-answers-") as tmp:
        tmp = workdir or tmp
        knowledge = Path(tmp) / "knowledge"
        knowledge.mkdir(parents=True, exist_ok=True)
        for name in DOCUMENTS:
            if not (knowledge / name).exists():
                shutil.copy2(PDFS / name, knowledge / name)
        settings = registry.load(config)
        paths = settings.paths.model_copy(update={"knowledge": knowledge, "index": Path(tmp) / "index"})
        settings = settings.model_copy(update={"paths": paths})
        kb = registry.build_knowledge_base(settings)
        start = time.perf_counter()
        report = registry.build_indexer(kb).sync()
        print(f"  [{label}] indexed: {report.summary()}", file=sys.stderr)
        engine = registry.build_chat(kb)
        start = time.perf_counter()
        for q in answerable + unanswerable:
            retrieved = [(h.chunk.source, h.chunk.page) for h in engine.retriever.retrieve(q["q"])]
            answer, cited, answered = "", [], False
            for event in engine.turn(q["q"], session_id=q["id"]):
                if isinstance(event, TokenEvent):
                    answer += event.text
                elif isinstance(event, CitationEvent):
                    cited.append((event.source, event.page))
                elif isinstance(event, DoneEvent):
                    answered = event.answered
            row = {"id": q["id"], "split": q["split"], "lang": q["lang"], "q": q["q"], "answered": answered,
                   "answer": answer, "cited": cited}
            if "facts" in q:
                expected = {(q["doc"], p) for p in q["pages"]}
                row.update(page_hit=bool(expected & set(retrieved)), cited_hit=bool(expected & set(cited)),
                           contains=answered and has_fact(answer, q["facts"]))
            rows.append(row)
        seconds = time.perf_counter() - start
        kb.close()
    return {"label": label, "ms_per_question": round(seconds * 1000 / len(rows), 1), "rows": rows,
            "summary": summarize(rows)}


def summarize(rows: list[dict]) -> dict:
    """Scores per split, per split and language, and over all questions."""
    groups: dict[str, list[dict]] = collections.defaultdict(list)
    for row in rows:
        for key in ("all", row["split"], f"{row['split']}/{row['lang']}", f"all/{row['lang']}"):
            groups[key].append(row)
    out = {}
    for key in sorted(groups):
        answerable = [r for r in groups[key] if "page_hit" in r]
        unanswerable = [r for r in groups[key] if "page_hit" not in r]
        stats: dict = {"answerable": len(answerable), "unanswerable": len(unanswerable)}
        if answerable:
            for metric in ("page_hit", "cited_hit", "contains"):
                stats[metric] = round(sum(r[metric] for r in answerable) / len(answerable), 3)
            stats["false_abstain"] = round(sum(not r["answered"] for r in answerable) / len(answerable), 3)
        if unanswerable:
            stats["abstain"] = round(sum(not r["answered"] for r in unanswerable) / len(unanswerable), 3)
        out[key] = stats
    return out


def run_in(code: Path, config: Path, label: str, workdir: Path | None = None, split: list[str] | None = None) -> dict:
    """Run this benchmark against the package and config found in `code` (another commit's files)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--config", str(config),
               "--label", label, "--out", out.name] + (["--workdir", str(workdir)] if workdir else [])
        cmd += ["--split", *split] if split else []
        subprocess.run(cmd, env=env, cwd=code, check=True)
        return json.loads(Path(out.name).read_text())


def export(ref: str, target: Path) -> Path:
    """The package and config of commit `ref`, unpacked into `target`."""
    archive = subprocess.run(["git", "archive", ref, "kotaemon_like", "config"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def table(results: list[dict]) -> str:
    lines = ["| code | split | lang | n (ans/unans) | page hit | cited hit | contains | false abstain | abstain |",
             "|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        for key, s in result["summary"].items():
            if key.startswith("all"):
                continue
            split, _, lang = key.partition("/")
            cells = [s.get(m, "–") for m in ("page_hit", "cited_hit", "contains", "false_abstain", "abstain")]
            lines.append(f"| {result['label']} | {split} | {lang or 'all'} | {s['answerable']}/{s['unanswerable']} | "
                         + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "config" / "default.yaml"))
    parser.add_argument("--baseline", default=BASELINE, help="commit to compare against ('' to skip)")
    parser.add_argument("--check", action="store_true", help="only check the question set against the PDFs")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--workdir", type=Path, help="keep this checkout's index here; a rerun embeds only changes")
    parser.add_argument("--baseline-results", type=Path, help="reuse the baseline rows of an earlier results file")
    parser.add_argument("--split", nargs="+", choices=["tuning", "held_back", *(split for *_, split in LATER), LOCKED],
                        help=f"ask only these splits' questions (without it, every split but `{LOCKED}`)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "answers.json")
    args = parser.parse_args()
    if args.check:
        sys.exit(check())
    if args.worker:
        sys.path.insert(0, os.environ.get("PYTHONPATH", str(ROOT)))
        args.out.write_text(json.dumps(run(args.config, args.label, args.workdir, args.split), ensure_ascii=False))
        return
    results = []
    if args.baseline_results:
        results.append(json.loads(args.baseline_results.read_text())["results"][0])
    elif args.baseline:
        with tempfile.TemporaryDirectory(prefix="kl-baseline-") as tmp:
            code = export(args.baseline, Path(tmp))
            results.append(run_in(code, code / "config" / "default.yaml", f"baseline {args.baseline}", split=args.split))
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    results.append(run_in(ROOT, Path(args.config), f"{head or 'this checkout'}", args.workdir, args.split))
    print(table(results))
    command = "nice -n 10 python " + " ".join(sys.argv)
    args.out.write_text(json.dumps({"command": command, "results": results}, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
