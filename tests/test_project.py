"""`kl init`, `kl` outside a project folder, and the demo shop's knowledge base answering the README's questions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from kotaemon_like.cli import main
from kotaemon_like.config import PACKAGED_CONFIG, ConfigError
from kotaemon_like.project import init_project

from .conftest import ROOT

DEMO_FILES = {"faq.md", "shipping-and-returns.md", "warranty.md", "常见问题.md", "退换货政策.md", "保修条款.md",
              "aurora-espresso-manual.en.pdf", "aurora-espresso-manual.zh.pdf"}


def test_init_creates_a_project_and_never_overwrites_one(tmp_path, capsys):
    project = tmp_path / "shop"
    assert main(["init", str(project)]) == 0
    assert "8 demo documents" in capsys.readouterr().out
    assert {p.name for p in (project / "data" / "knowledge").iterdir()} == DEMO_FILES
    assert {p.name for p in (project / "plugins").iterdir()} == {p.name for p in (ROOT / "plugins").glob("*.py")} | {"requests.jsonl"}
    assert (project / "config" / "default.yaml").read_text() == (ROOT / "config" / "default.yaml").read_text()
    assert (project / "data" / "orders.json").read_text() == (ROOT / "data" / "orders.json").read_text()
    assert "KL_API_KEY=" in (project / ".env.example").read_text()
    with pytest.raises(ConfigError, match="already exists"):
        init_project(project)
    assert main(["init", "--empty", str(tmp_path / "bare")]) == 0
    assert list((tmp_path / "bare" / "data" / "knowledge").iterdir()) == []


def test_kl_outside_a_project_uses_the_packaged_config_and_says_so(tmp_path):
    shutil.copytree(ROOT / "plugins", tmp_path / "plugins")  # check-config also loads the plugins its settings name
    env = {k: v for k, v in os.environ.items() if k != "KL_CONFIG"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-m", "kotaemon_like.cli", "check-config"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"{PACKAGED_CONFIG}: OK" in out.stdout and "routing learns from 3567 labelled messages" in out.stdout
    assert f"kl: config {PACKAGED_CONFIG}; knowledge {tmp_path / 'data' / 'knowledge'}; index {tmp_path / 'data' / 'index'}" \
        in out.stderr


def test_check_config_names_a_bad_line_of_the_requests_file(tmp_path, monkeypatch, capsys):
    init_project(tmp_path, demo=False)
    monkeypatch.chdir(tmp_path)
    requests = tmp_path / "plugins" / "requests.jsonl"
    requests.write_text(requests.read_text(encoding="utf-8") + '{"text": "book a table", "expect": "booking"}\n',
                        encoding="utf-8")
    assert main(["check-config"]) == 0
    assert "lines for booking, which no loaded plugin is" in capsys.readouterr().err
    requests.write_text('{"text": "where is my parcel", "expect": "order_status"}\n{"text": 5}\n', encoding="utf-8")
    assert main(["check-config"]) == 2
    assert "requests.jsonl:2: expected a JSON object" in capsys.readouterr().err


@pytest.mark.slow
def test_index_of_an_empty_folder_says_what_to_do(tmp_path, monkeypatch, capsys):
    init_project(tmp_path, demo=False)
    monkeypatch.chdir(tmp_path)
    assert main(["index"]) == 0
    out = capsys.readouterr().out
    assert "0 new" in out and f"nothing to search yet: {tmp_path / 'data' / 'knowledge'} has no PDF" in out
    assert "kl init demo" in out


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory):
    project = tmp_path_factory.mktemp("demo")
    init_project(project)
    cwd = os.getcwd()
    os.chdir(project)
    try:
        assert main(["index"]) == 0
        yield project
    finally:
        os.chdir(cwd)


@pytest.mark.slow
@pytest.mark.parametrize("question, cited, words", [
    ("Can I return an item for a refund?", "shipping-and-returns.md p.1", "30 days"),
    ("How often should I descale the espresso machine?", "aurora-espresso-manual.en.pdf p.3", "every 2 months"),
    ("可以退货吗？", "退换货政策.md p.1", "30 天内"),
    ("咖啡机怎么除垢？", "aurora-espresso-manual.zh.pdf p.2", "除垢"),
])
def test_the_demo_knowledge_base_answers_the_readme_questions(demo_project, monkeypatch, capsys, question, cited, words):
    monkeypatch.chdir(demo_project)
    capsys.readouterr()
    assert main(["ask", question]) == 0
    answer, _, sources = capsys.readouterr().out.partition("Sources:")
    assert words in answer and cited in sources
