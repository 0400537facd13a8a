"""Config loading: env interpolation, validation errors that name file/section/value/choices, the allowlist."""

from __future__ import annotations

import pytest

from kotaemon_like import registry
from kotaemon_like.config import ConfigError, interpolate, load_settings

from .conftest import ROOT, write_config


def test_default_config_is_valid():
    settings = registry.load(ROOT / "config" / "default.yaml")
    assert settings.vector_store.type == "faiss"
    assert settings.retriever.type == "hybrid"
    assert settings.embedder.params["model"] == "all-MiniLM-L6-v2"


def test_unknown_type_names_file_section_value_and_choices(workdir):
    path = write_config(workdir, "vector_store: {type: fiass}")
    with pytest.raises(ConfigError) as err:
        registry.load(path)
    message = str(err.value)
    assert str(path) in message and "vector_store.type" in message
    assert "'fiass'" in message and "valid choices: faiss" in message


def test_misspelled_parameter_lists_valid_keys(workdir):
    path = write_config(workdir, "splitter: {type: sentence, chunk_sise: 100}")
    with pytest.raises(ConfigError) as err:
        registry.load(path)
    message = str(err.value)
    assert "splitter" in message and "chunk_sise" in message
    assert "chunk_overlap, chunk_size" in message


def test_misspelled_section_and_nested_key(workdir):
    path = write_config(workdir, "retreiver: {type: hybrid}")
    with pytest.raises(ConfigError, match="unknown key 'retreiver'.*retriever"):
        registry.load(path)
    path = write_config(workdir, "paths: {knowlege: x}")
    with pytest.raises(ConfigError, match="paths.knowlege: unknown key 'knowlege'; valid keys: index, knowledge"):
        registry.load(path)


def test_bad_value_is_reported_with_the_value(workdir):
    path = write_config(workdir, "retriever: {type: hybrid, top_k: -3}")
    with pytest.raises(ConfigError, match=r"retriever.top_k: .*greater than 0 \(got -3\)"):
        registry.load(path)


def test_dotted_import_paths_are_never_loaded(workdir):
    path = write_config(workdir, "generator: {type: os.system}")
    with pytest.raises(ConfigError, match="'os.system' is not a known generator; valid choices: extractive"):
        registry.load(path)


def test_env_interpolation(monkeypatch):
    monkeypatch.delenv("KL_TEST_TOPK", raising=False)
    assert interpolate({"a": "${KL_TEST_TOPK:-4}"}) == {"a": 4}
    monkeypatch.setenv("KL_TEST_TOPK", "7")
    assert interpolate({"a": ["x-${KL_TEST_TOPK}-y"]}) == {"a": ["x-7-y"]}
    monkeypatch.delenv("KL_TEST_TOPK")
    with pytest.raises(ConfigError, match="a: environment variable KL_TEST_TOPK is not set"):
        interpolate({"a": "${KL_TEST_TOPK}"})


def test_kl_config_env_picks_the_file(workdir, monkeypatch):
    path = write_config(workdir, "retriever: {type: keyword, top_k: 2}")
    monkeypatch.setenv("KL_CONFIG", str(path))
    assert load_settings().retriever.type == "keyword"


def test_missing_and_malformed_files(workdir):
    with pytest.raises(ConfigError, match="not found; pass --config FILE or set KL_CONFIG"):
        load_settings(workdir / "nope.yaml")
    bad = workdir / "bad.yaml"
    bad.write_text("retriever: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)


def test_cli_reports_config_errors_in_one_line(workdir, capsys):
    from kotaemon_like.cli import main

    path = write_config(workdir, "memory: {type: window, turns: 0}")
    assert main(["--config", str(path), "check-config"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "memory.turns" in err and "\n" not in err
