"""Configuration: paths under PARTNER_TUI_HOME, the TOML file, token sources, bad files."""

import os
from pathlib import Path

import pytest

from partner_tui.cli import main as tui_cli
from partner_tui.core.config import ConfigError, load_settings, paths


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PARTNER_TUI_HOME", str(tmp_path))
    monkeypatch.delenv("PARTNER_TUI_TOKEN", raising=False)
    monkeypatch.delenv("PARTNER_TUI_API", raising=False)
    return tmp_path


def write_config(home: Path, text: str, mode: int = 0o600) -> Path:
    file = paths().config_file
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    os.chmod(file, mode)
    return file


def test_home_override_puts_everything_under_one_folder(home: Path) -> None:
    p = paths()
    assert (p.config_dir, p.cache_dir, p.data_dir) == (
        home / "config",
        home / "cache",
        home / "data",
    )
    a, b = p.cache_file("https://a.example/"), p.cache_file("https://b.example")
    assert a != b and a.parent == home / "cache" and a.name.startswith("a-example-")


def test_file_values_and_env_override(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(
        home,
        'api_url = "https://x.example"\ntoken = "pa_file"\nlanguage = "en"\n'
        '[keys]\n"app.sync" = "ctrl+r"\n',
    )
    s = load_settings()
    assert (s.api_url, s.token, s.language, s.keys) == (
        "https://x.example",
        "pa_file",
        "en",
        {"app.sync": "ctrl+r"},
    )
    assert s.warnings == []
    monkeypatch.setenv("PARTNER_TUI_TOKEN", "pa_env")
    assert load_settings().token == "pa_env"


def test_world_readable_token_file_warns(home: Path) -> None:
    file = write_config(home, 'token = "pa_file"\n', mode=0o644)
    warnings = load_settings().warnings
    assert len(warnings) == 1 and f"chmod 600 {file}" in warnings[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("token = ", "not valid TOML"),
        ("token = 5", "token must be a string"),
        ('language = "de"', "language must be 'nb' or 'en'"),
        ("keys = 3", "[keys] must be a table"),
    ],
)
def test_bad_config_is_a_clear_error(home: Path, text: str, message: str) -> None:
    write_config(home, text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_settings()


def test_cli_reports_bad_config_and_missing_token(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(home, "token = ")
    assert tui_cli(["sync", "--api", "http://127.0.0.1:9"]) == 1
    assert "not valid TOML" in capsys.readouterr().err
    write_config(home, "")
    assert tui_cli(["sync", "--api", "http://127.0.0.1:9"]) == 1
    assert "no API token" in capsys.readouterr().err


def test_unknown_binding_id_is_refused(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(home, '[keys]\n"app.nope" = "x"\n')
    assert tui_cli(["--api", "http://127.0.0.1:9", "--offline"]) == 1
    err = capsys.readouterr().err
    assert "unknown binding ids in [keys]: app.nope" in err and "app.sync" in err
