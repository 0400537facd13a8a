"""Bulk indexing of this checkout against another one (e.g. the previous release), in the same run.

    python bench/ingest_ab.py --other ../main [--rounds 2] [--out bench/results/ingest_ab.json]

Both run bench/ingest.py's `default` pipeline (`Indexer.sync()` as config/default.yaml wires it) in their
own process, interleaved round by round, on the same folders: the federal register alone (15 pages, the
freshness benchmark's file), the quick corpus of bench/ingest.py (real PDFs plus a 20-page debian-faq
extract) and 200 one-answer Markdown files. Reported per checkout and folder: median wall seconds, CPU
seconds (the honest figure on a shared machine), chunks, load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from ingest import MARK, PDFS, make_corpus, make_notes  # noqa: E402


def run(checkout: Path, folder: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="kl-ingest-ab-") as work:
        load = os.getloadavg()[0]
        cmd = [sys.executable, str(checkout / "bench" / "ingest.py"), "--child", "default", "--corpus", str(folder),
               "--work", work, "--config", str(checkout / "config" / "default.yaml")]
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=checkout)
        lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
        if proc.returncode or not lines:
            sys.stderr.write(proc.stderr[-3000:])
            raise SystemExit(f"{checkout} failed (exit {proc.returncode})")
        row = json.loads(lines[-1][len(MARK):])
        return {"seconds": row["seconds"], "cpu_s": row.get("cpu_s"), "chunks": row.get("chunks"), "load_1m": round(load, 2)}


def commit(checkout: Path) -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=checkout).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--other", type=Path, required=True, help="the checkout to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest_ab.json")
    args = parser.parse_args()
    checkouts = {"this": ROOT, "other": args.other.resolve()}
    with tempfile.TemporaryDirectory(prefix="kl-ingest-ab-") as tmp:
        folders = {"federal-register": Path(tmp) / "fr", "pdfs": Path(tmp) / "pdfs", "notes": Path(tmp) / "notes"}
        folders["federal-register"].mkdir()
        shutil.copy(PDFS / "federal-register-2020-17221.pdf", folders["federal-register"])
        make_corpus(folders["pdfs"], 20, quick=True)
        make_notes(folders["notes"], 200)
        runs = {(c, f): [] for c in checkouts for f in folders}
        for round_ in range(args.rounds):
            for folder_name, folder in folders.items():
                for name, checkout in checkouts.items():
                    row = run(checkout, folder)
                    runs[(name, folder_name)].append(row)
                    print(f"  round {round_ + 1} {folder_name} {name}: {row}", file=sys.stderr, flush=True)
    rows = []
    for (name, folder_name), values in runs.items():
        row = {"checkout": name, "commit": commit(checkouts[name]), "folder": folder_name, "rounds": len(values),
               "chunks": values[0]["chunks"]}
        for key in ("seconds", "cpu_s", "load_1m"):
            row[key] = round(statistics.median(v[key] for v in values), 2)
        print(json.dumps(row), flush=True)
        rows.append(row)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
