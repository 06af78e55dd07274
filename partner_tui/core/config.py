"""Where things live and how the app is configured.

Config (TOML) in ``user_config_dir``, cache in ``user_cache_dir``, demo database in
``user_data_dir`` (platformdirs); ``PARTNER_TUI_HOME`` puts all three under one folder (tests).
The token comes from ``PARTNER_TUI_TOKEN`` or the config file, and is never written anywhere.
"""

import hashlib
import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

APP_NAME = "partner-tui"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    cache_dir: Path
    data_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    def cache_file(self, api_url: str) -> Path:
        """One cache per server, so two servers' rows never mix."""
        parts = urlsplit(api_url)
        host = "".join(ch if ch.isalnum() else "-" for ch in (parts.hostname or "local"))
        digest = hashlib.sha256(api_url.rstrip("/").encode()).hexdigest()[:8]
        return self.cache_dir / f"{host}-{digest}.sqlite"

    @property
    def demo_cache_file(self) -> Path:
        return self.cache_dir / "demo.sqlite"

    @property
    def demo_database(self) -> Path:
        return self.data_dir / "demo-api.sqlite"


def paths() -> Paths:
    home = os.environ.get("PARTNER_TUI_HOME")
    if home:
        base = Path(home).expanduser()
        return Paths(base / "config", base / "cache", base / "data")
    return Paths(
        Path(platformdirs.user_config_dir(APP_NAME)),
        Path(platformdirs.user_cache_dir(APP_NAME)),
        Path(platformdirs.user_data_dir(APP_NAME)),
    )


@dataclass
class Settings:
    api_url: str | None = None
    token: str | None = None
    language: str = "nb"
    keys: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class ConfigError(Exception):
    pass


def load_settings(p: Paths | None = None) -> Settings:
    p = p or paths()
    settings = Settings()
    file = p.config_file
    if file.exists():
        mode = stat.S_IMODE(file.stat().st_mode)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
        settings.api_url = _str(data, "api_url", file)
        settings.token = _str(data, "token", file)
        settings.language = _str(data, "language", file) or "nb"
        keys = data.get("keys", {})
        if not isinstance(keys, dict):
            raise ConfigError(f"{file}: [keys] must be a table of binding id = key")
        settings.keys = {str(k): str(v) for k, v in keys.items()}
        if settings.token and mode & 0o077:
            settings.warnings.append(
                f"{file} holds a token but is readable by others (mode {mode:o}); "
                f"run: chmod 600 {file}"
            )
    settings.token = os.environ.get("PARTNER_TUI_TOKEN") or settings.token
    settings.api_url = os.environ.get("PARTNER_TUI_API") or settings.api_url
    if settings.language not in ("nb", "en"):
        raise ConfigError(f"language must be 'nb' or 'en', not {settings.language!r}")
    return settings


def _str(data: dict[str, object], key: str, file: Path) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{file}: {key} must be a string")
    return value
