"""Config errors that keep secrets to themselves, and plugin folders treated as the code they are."""

from __future__ import annotations

import shutil

import pytest

from kotaemon_like import registry
from kotaemon_like.cli import main
from kotaemon_like.config import ConfigError

from .conftest import ROOT


def test_a_secret_in_a_bad_value_is_not_echoed(tmp_path, monkeypatch):
    monkeypatch.setenv("KL_TEST_SECRET", "hunter2pass")
    config = tmp_path / "c.yaml"
    for body, where in (
        ("server: {port: '${KL_TEST_SECRET}'}", "server.port"),
        ("queue: {type: redis, url: 5, max_attempts: '${KL_TEST_SECRET}'}", "queue"),
        ("server: {port: 'redis://:hunter2pass@redis:6379'}", "server.port"),
        ("memory: {type: redis, url: [redis://:hunter2pass@x]}", "memory.url"),
    ):
        config.write_text(body)
        with pytest.raises(ConfigError) as caught:
            registry.load(config)
        assert where in str(caught.value) and "hunter2pass" not in str(caught.value), body
    config.write_text("server: {port: 'eighty'}")  # a plain mistake is still shown, to be found quickly
    with pytest.raises(ConfigError, match="got 'eighty'"):
        registry.load(config)


def plugin_config(tmp_path, folder) -> str:
    config = tmp_path / "c.yaml"
    config.write_text(f"tools: {{folder: '{folder}', reload: false}}\n")
    return str(config)


def test_check_config_loads_the_plugins(tmp_path, capsys):
    folder = tmp_path / "plugins"
    folder.mkdir()
    shutil.copy(ROOT / "plugins" / "order_status.py", folder)
    config = plugin_config(tmp_path, folder)
    assert main(["--config", config, "check-config"]) == 0
    assert "tool plugins: order_status" in capsys.readouterr().out
    (folder / "broken.py").write_text("from kotaemon_like.tools import ToolPlugin\nraise RuntimeError('oops')\n")
    assert main(["--config", config, "check-config"]) == 2
    err = capsys.readouterr().err
    assert "broken.py: RuntimeError: oops" in err and "line 2" in err


def test_a_plugins_folder_writable_by_others_is_refused(tmp_path, capsys):
    folder = tmp_path / "plugins"
    folder.mkdir()
    shutil.copy(ROOT / "plugins" / "order_status.py", folder)
    folder.chmod(0o777)
    config = plugin_config(tmp_path, folder)
    assert main(["--config", config, "check-config"]) == 2
    assert "writable by other users" in capsys.readouterr().err
    from kotaemon_like.tools import Toolbox

    toolbox = Toolbox(registry.load(config).tools, None, watch=False, entry_points=False)
    try:
        assert toolbox.plugins() == {} and "chmod o-w" in toolbox.load_errors()[0].message
        folder.chmod(0o755)
        toolbox.reload()
        assert sorted(toolbox.plugins()) == ["order_status"]
    finally:
        toolbox.close()
