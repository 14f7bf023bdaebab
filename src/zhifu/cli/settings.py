"""One configuration file for the stack (``zhifu.toml``), environment overrides, defaults.

Where a setting comes from, in order: the command line (``zhifu serve --port``), the
environment (``ZHIFU_PORT`` ...), the file (``--config FILE``, else ``$ZHIFU_CONFIG``, else
``./zhifu.toml`` when present), the default. ``zhifu config show`` prints every setting with its
value and source; ``zhifu config example`` prints a file to start from. A key the table does not
know, or a value of the wrong type, is refused naming the key (and the closest known one).

>>> found = load_settings(None, environ={"ZHIFU_PORT": "8080"})
>>> found.value("web.port"), found.source("web.port"), found.source("acquirer.port")
(8080, 'environment ZHIFU_PORT', 'default')
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from zhifu.codec.home import HOME_ENV
from zhifu.core.errors import UsageError

__all__ = ["SETTINGS", "Setting", "Settings", "example_toml", "load_settings"]

Value = str | int | bool


@dataclass(frozen=True)
class Setting:
    """One setting: its key (``section.name``), type, default, environment variable, meaning."""

    key: str
    kind: type
    default: Value
    env: str
    help: str


SETTINGS: Final[tuple[Setting, ...]] = (
    Setting("web.host", str, "127.0.0.1", "ZHIFU_HOST",
            "address the web app and the acquirer bind"),
    Setting("web.port", int, 8000, "ZHIFU_PORT", "the web app's port (console, APIs, /docs)"),
    Setting("acquirer.enabled", bool, True, "ZHIFU_ACQUIRER", "start the acquirer host"),
    Setting("acquirer.port", int, 5800, "ZHIFU_ACQUIRER_PORT", "the acquirer's ISO 8583 TCP port"),
    Setting("acquirer.max_connections_per_address", int, 32, "ZHIFU_ACQUIRER_MAX_PER_ADDRESS",
            "connections one source address may hold"),
    Setting("acquirer.merchant_fee_bp", int, 38, "ZHIFU_MERCHANT_FEE_BP",
            "merchant fee at batch settlement, basis points"),
    Setting("acquirer.issuer_address", str, "", "ZHIFU_ISSUER_ADDRESS",
            "HOST:PORT of an issuer host (empty: the issuer in process)"),
    Setting("acquirer.risk", str, "enforce", "ZHIFU_ACQUIRER_RISK",
            "risk rules: enforce (refuse, block) or monitor (alert and audit only)"),
    Setting("acquirer.risk_webhook", str, "", "ZHIFU_RISK_WEBHOOK",
            "URL each risk alert is POSTed to, signed with $ZHIFU_RISK_WEBHOOK_SECRET"),
    Setting("clearing.enabled", bool, True, "ZHIFU_CLEARING", "start the BEPS centres"),
    Setting("demo.world", bool, True, "ZHIFU_DEMO_WORLD",
            "seed the demo world on first start (docs/demo.md)"),
    Setting("data.home", str, "var", HOME_ENV, "the data directory (SQLite files, keys)"),
    Setting("data.ledger_url", str, "", "ZHIFU_LEDGER_URL",
            "the ledger's database URL (empty: a SQLite file in the data directory)"),
)  # fmt: skip
BY_KEY: Final = {s.key: s for s in SETTINGS}


@dataclass
class Settings:
    """The resolved settings and where each came from."""

    values: dict[str, Value] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    file: Path | None = None

    def value(self, key: str) -> Value:
        return self.values[key]

    def source(self, key: str) -> str:
        return self.sources[key]

    def rows(self) -> list[dict[str, object]]:
        return [{"key": s.key, "value": self.values[s.key], "source": self.sources[s.key],
                 "env": s.env, "help": s.help} for s in SETTINGS]  # fmt: skip


def _parse_env(setting: Setting, text: str) -> Value:
    if setting.kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise UsageError("true or false", argument=setting.env)
    if setting.kind is int:
        try:
            return int(text)
        except ValueError:
            raise UsageError("a whole number", argument=setting.env) from None
    return text


def _flatten(data: Mapping[str, object], where: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for section, body in data.items():
        if not isinstance(body, Mapping):
            raise UsageError(f"{where}: [{section}] must be a table", argument=section)
        for name, value in body.items():
            key = f"{section}.{name}"
            if key not in BY_KEY:
                close = difflib.get_close_matches(key, list(BY_KEY), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise UsageError(f"{where}: unknown setting{hint}", argument=key)
            setting = BY_KEY[key]
            ok = isinstance(value, setting.kind) and not (
                setting.kind is int and isinstance(value, bool)
            )
            if not ok:
                raise UsageError(f"{where}: must be {setting.kind.__name__}", argument=key)
            out[key] = value
    return out


def _file(path: Path | None, environ: Mapping[str, str]) -> Path | None:
    if path is not None:
        return path
    named = environ.get("ZHIFU_CONFIG")
    if named:
        return Path(named)
    local = Path("zhifu.toml")
    return local if local.exists() else None


def load_settings(path: Path | str | None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every setting (see the module docstring)."""
    env = os.environ if environ is None else environ
    chosen = _file(Path(path) if path is not None else None, env)
    from_file: dict[str, object] = {}
    if chosen is not None:
        try:
            from_file = _flatten(tomllib.loads(chosen.read_text(encoding="utf-8")), chosen)
        except FileNotFoundError:
            raise UsageError(f"no such file: {chosen}", argument="--config") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{chosen} is not TOML ({exc})", argument="--config") from None
    found = Settings(file=chosen)
    for setting in SETTINGS:
        if setting.env in env:
            found.values[setting.key] = _parse_env(setting, env[setting.env])
            found.sources[setting.key] = f"environment {setting.env}"
        elif setting.key in from_file:
            found.values[setting.key] = from_file[setting.key]  # type: ignore[assignment]
            found.sources[setting.key] = f"file {chosen}"
        else:
            found.values[setting.key] = setting.default
            found.sources[setting.key] = "default"
    return found


def example_toml() -> str:
    """A configuration file with every setting at its default, each explained."""
    lines = [
        "# zhifu.toml: the stack's settings; the environment wins over it, the command line"
        " over both (zhifu config show)"
    ]
    section = ""
    for s in SETTINGS:
        head, name = s.key.split(".", 1)
        if head != section:
            lines += ["", f"[{head}]"]
            section = head
        value = str(s.default).lower() if isinstance(s.default, bool) else repr(s.default)
        value = f'"{s.default}"' if isinstance(s.default, str) else value
        lines += [f"# {s.help} (env {s.env})", f"{name} = {value}"]
    return "\n".join(lines) + "\n"
