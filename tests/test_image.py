"""The image built and run for real: scripts/rehearse-image.sh with Podman (or a running Docker engine).

The script builds the Dockerfile, starts Redis, PostgreSQL, the app, the watcher and the indexer as
containers with compose.yaml's commands and healthchecks, and asks the API about a PDF dropped into the
mounted knowledge folder until the answer cites it. Deselected by `bash scripts/test.sh` (a cold build
takes tens of minutes); run it with `bash scripts/test.sh -m image`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from .conftest import ROOT

SCRIPT = ROOT / "scripts" / "rehearse-image.sh"


def engine() -> str | None:
    """podman, or docker when its engine answers; None when neither can run a container here."""
    if shutil.which("podman"):
        return "podman"
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0:
        return "docker"
    return None


@pytest.mark.image
@pytest.mark.slow
def test_rehearsed_image_answers_a_dropped_pdf_with_a_citation_and_cleans_up():
    name = engine()
    if name is None:
        pytest.skip("no podman and no running Docker engine (apt-get install podman runc)")
    result = subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=5400,
                            env={**os.environ, "KL_ENGINE": name})
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"scripts/rehearse-image.sh failed:\n{output[-6000:]}"
    assert "rehearsal passed" in result.stdout
    assert re.search(r"cited: aurora-heat-pump-warranty\.pdf page 1\b", result.stdout), result.stdout
    assert re.search(r"answer: .*twelve years", result.stdout, re.I), result.stdout
    numbers = dict(re.findall(r"^(image size|build time|time to healthy \(app\)|time to first cited answer)\s+(\d+)",
                              result.stdout, re.M))
    assert len(numbers) == 4 and int(numbers["image size"]) > 0, result.stdout
    # Everything the script started is gone: its containers and volumes carry the run id in their names.
    run_id = re.search(r"stopping (kl-rehearse-\d+)-", output)[1]
    left = subprocess.run([name, "ps", "-a", "--filter", f"name={run_id}", "--format", "{{.Names}}"],
                          capture_output=True, text=True, timeout=60).stdout.split()
    volumes = subprocess.run([name, "volume", "ls", "--format", "{{.Name}}"], capture_output=True, text=True,
                             timeout=60).stdout.split()
    assert not left and not [v for v in volumes if v.startswith(run_id)], (left, volumes)

