"""Settings: every knob of an Accord server, where it comes from, and its checks.

Precedence, highest first: command-line flags (the `overrides` mapping), the
environment (`ACCORD_<NAME>`), an optional TOML config file (`--config FILE` or
`ACCORD_CONFIG`), then the defaults. Values that derive from others (the
database path from the data dir, the public URL from host and port, the allowed
origins from the public URL) are left unset and derived when read, through the
properties `database_path`, `base_url`, `origins` and `secret_key_path`, so
setting `data_dir` alone moves the database too. docs/CONFIGURATION.md is the
reference; keep it in step with `_FIELDS`.

Nothing here does I/O at import. `Settings.load` reads the config file;
`Settings.secret_key` reads (or creates) the key file the first time it is used.
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
import logging
import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

import accord

logger = logging.getLogger(__name__)

ENV_PREFIX = "ACCORD_"
CONFIG_ENV = "ACCORD_CONFIG"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
SECRET_KEY_BYTES = 32


class SettingsError(ValueError):
    """A setting has a bad value, or the config file is unusable. The message says which."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("accord"))


def default_protocols_dir() -> Path:
    # server/accord/__init__.py -> parents[2] is the repository root.
    return Path(accord.__file__).resolve().parents[2] / "protocols"


@dataclass(frozen=True)
class Settings:
    """The server's configuration. Fields hold what was configured; a None (or
    empty) field means "derive it", and the properties below give the value in
    force. Derivation happens on access, so `dataclasses.replace(settings,
    port=...)` moves the public URL and origins along with the port."""

    host: str = "127.0.0.1"
    port: int = 8700
    data_dir: Path = field(default_factory=default_data_dir)
    database: Path | None = None  # None: data_dir / "accord.sqlite3"
    commit_window_ms: float = 2.0  # SQLite group commit: the longest a busy writer waits
    redis_url: str | None = field(default=None, repr=False)  # may hold a password
    redis_wait_replicas: int = 0  # acknowledge only after this many replicas have an append
    redis_wait_timeout_ms: int = 1000
    public_url: str | None = None  # None: http://host:port
    protocols_dir: Path = field(default_factory=default_protocols_dir)
    invite_ttl_s: int = 7 * 24 * 3600
    grace_period_s: float = 30.0
    max_frame_bytes: int = 65536
    allowed_origins: tuple[str, ...] = ()  # empty: the public URL's origin and localhost
    log_level: str = "info"
    secret_key_file: Path | None = None  # None: data_dir / "secret.key"
    login_ttl_s: int = 12 * 3600
    gc_tuning: bool = True
    # The edges of a connection's life (docs/PROTOCOL.md, "Limits"):
    max_queued_bytes: int = 1024 * 1024  # what may wait for one slow connection
    stall_timeout_s: float = 10.0  # a connection over it that reads nothing this long is cut
    max_connections_per_seat: int = 4
    max_sockets_per_address: int = 50
    max_unauthenticated: int = 1000
    max_unauthenticated_per_address: int = 20
    socket_rate_per_address: float = 20.0  # new websockets per second, in bursts of twice it
    handshake_timeout_s: float = 10.0
    trusted_proxies: str = "127.0.0.1"  # whose X-Forwarded-For names the client

    def __post_init__(self) -> None:
        # Normalise what a caller may pass loosely (str paths, a list of origins).
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "protocols_dir", Path(self.protocols_dir))
        if self.database is not None:
            object.__setattr__(self, "database", Path(self.database))
        if self.secret_key_file is not None:
            object.__setattr__(self, "secret_key_file", Path(self.secret_key_file))
        if self.public_url is not None:
            object.__setattr__(self, "public_url", _check_public_url(self.public_url))
        origins = tuple(_check_origin(o) for o in self.allowed_origins)
        object.__setattr__(self, "allowed_origins", origins)
        self._check()

    def _check(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port must be between 0 and 65535, not {self.port}")
        if self.invite_ttl_s <= 0:
            raise SettingsError("invite_ttl_s must be a positive number of seconds")
        if self.grace_period_s < 0:
            raise SettingsError("grace_period_s must not be negative")
        if not 0 <= self.commit_window_ms <= 50:
            raise SettingsError("commit_window_ms must be between 0 and 50")
        if self.max_frame_bytes < 1024:
            raise SettingsError("max_frame_bytes must be at least 1024")
        if self.login_ttl_s <= 0:
            raise SettingsError("login_ttl_s must be a positive number of seconds")
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(
                f"log_level must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}"
            )
        if self.max_queued_bytes < 65536:
            raise SettingsError("max_queued_bytes must be at least 65536")
        for name in (
            "max_connections_per_seat",
            "max_sockets_per_address",
            "max_unauthenticated",
            "max_unauthenticated_per_address",
        ):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1")
        if self.socket_rate_per_address <= 0:
            raise SettingsError("socket_rate_per_address must be positive")
        if not 0 < self.stall_timeout_s <= 300:
            raise SettingsError("stall_timeout_s must be between 0 and 300 seconds")
        if not 0 < self.handshake_timeout_s <= 300:
            raise SettingsError("handshake_timeout_s must be between 0 and 300 seconds")
        if self.redis_wait_replicas < 0:
            raise SettingsError("redis_wait_replicas must not be negative")
        if not 0 < self.redis_wait_timeout_ms <= 60_000:
            raise SettingsError("redis_wait_timeout_ms must be between 1 and 60000")
        if self.redis_url is not None and urlsplit(self.redis_url).scheme not in (
            "redis",
            "rediss",
            "unix",
        ):
            raise SettingsError(
                f"redis_url must start with redis://, rediss:// or unix://, not {self.redis_url!r}"
            )

    @property
    def database_path(self) -> Path:
        """The SQLite file in force."""
        return self.database if self.database is not None else self.data_dir / "accord.sqlite3"

    @property
    def base_url(self) -> str:
        """The public URL in force, without a trailing slash; join and setup links start here."""
        return self.public_url if self.public_url is not None else _url_for(self.host, self.port)

    @property
    def origins(self) -> tuple[str, ...]:
        """The browser origins in force (`*` allows any)."""
        return self.allowed_origins or _default_origins(self.base_url, self.port)

    @property
    def secret_key_path(self) -> Path:
        """The secret key file in force."""
        if self.secret_key_file is not None:
            return self.secret_key_file
        return self.data_dir / "secret.key"

    @property
    def cookie_secure(self) -> bool:
        """Mark cookies Secure when the public URL is https."""
        return self.base_url.startswith("https://")

    @functools.cached_property
    def secret_key(self) -> bytes:
        """The server secret (signs invite tokens and login cookies), made on first use."""
        return load_secret_key(self.secret_key_path)

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        config_path: str | os.PathLike[str] | None = None,
    ) -> Settings:
        """Merge flags (`overrides`, None values ignored) > env > config file > defaults."""
        env = {} if env is None else env
        values: dict[str, Any] = {}
        if config_path is None and env.get(CONFIG_ENV):
            config_path = env[CONFIG_ENV]
        if config_path is not None:
            values.update(_read_config(Path(config_path)))
        values.update(_from_env(env))
        for name, value in (overrides or {}).items():
            if name not in _FIELDS:
                raise SettingsError(f"unknown setting {name!r}")
            if value is not None:
                values[name] = _FIELDS[name].convert(value, name)
        return cls(**values)


def _url_for(host: str, port: int) -> str:
    if host in ("", "0.0.0.0", "::"):
        host = "localhost"  # a wildcard bind address is not somewhere a browser can go
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _check_public_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"public_url must be an http:// or https:// URL, not {url!r}")
    if parts.query or parts.fragment:
        raise SettingsError(f"public_url must not have a query or fragment: {url!r}")
    return url.rstrip("/")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _check_origin(origin: str) -> str:
    if origin == "*":
        return origin
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise SettingsError(
            f"allowed_origins entries must look like https://host[:port] (or be *), not {origin!r}"
        )
    return _origin_of(origin)


def _default_origins(public_url: str, port: int) -> tuple[str, ...]:
    origins = [_origin_of(public_url)]
    for host in ("localhost", "127.0.0.1", "[::1]"):
        origin = f"http://{host}:{port}"
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


# --- parsing values from text (environment) and TOML -------------------------


def _to_str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise SettingsError(f"{name} must be a string, not {value!r}")
    return value


def _to_opt_str(value: Any, name: str) -> str | None:
    value = _to_str(value, name)
    return value or None


def _to_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise SettingsError(f"{name} must be an integer, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise SettingsError(f"{name} must be an integer, not {value!r}")


def _to_float(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise SettingsError(f"{name} must be a number, not {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise SettingsError(f"{name} must be a number, not {value!r}")


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _to_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise SettingsError(f"{name} must be true or false, not {value!r}")


def _to_path(value: Any, name: str) -> Path:
    if isinstance(value, os.PathLike):
        return Path(value).expanduser()
    return Path(_to_str(value, name)).expanduser()


def _to_opt_path(value: Any, name: str) -> Path | None:
    if value == "":
        return None
    return _to_path(value, name)


def _to_origins(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [_to_str(item, name).strip() for item in value]
    else:
        raise SettingsError(f"{name} must be a list of origins, not {value!r}")
    return tuple(item for item in items if item)


def _to_log_level(value: Any, name: str) -> str:
    return _to_str(value, name).strip().lower()


@dataclass(frozen=True, slots=True)
class _Field:
    convert: Callable[[Any, str], Any]
    is_path: bool = False


_FIELDS: dict[str, _Field] = {
    "host": _Field(_to_str),
    "port": _Field(_to_int),
    "data_dir": _Field(_to_path, is_path=True),
    "database": _Field(_to_opt_path, is_path=True),
    "commit_window_ms": _Field(_to_float),
    "redis_url": _Field(_to_opt_str),
    "redis_wait_replicas": _Field(_to_int),
    "redis_wait_timeout_ms": _Field(_to_int),
    "public_url": _Field(_to_opt_str),
    "protocols_dir": _Field(_to_path, is_path=True),
    "invite_ttl_s": _Field(_to_int),
    "grace_period_s": _Field(_to_float),
    "max_frame_bytes": _Field(_to_int),
    "allowed_origins": _Field(_to_origins),
    "log_level": _Field(_to_log_level),
    "secret_key_file": _Field(_to_opt_path, is_path=True),
    "login_ttl_s": _Field(_to_int),
    "gc_tuning": _Field(_to_bool),
    "max_queued_bytes": _Field(_to_int),
    "max_connections_per_seat": _Field(_to_int),
    "max_sockets_per_address": _Field(_to_int),
    "max_unauthenticated": _Field(_to_int),
    "max_unauthenticated_per_address": _Field(_to_int),
    "handshake_timeout_s": _Field(_to_float),
    "stall_timeout_s": _Field(_to_float),
    "socket_rate_per_address": _Field(_to_float),
    "trusted_proxies": _Field(_to_str),
}
assert set(_FIELDS) == {f.name for f in dataclasses.fields(Settings)}


def env_var(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in _FIELDS.items():
        var = env_var(name)
        if var in env:
            values[name] = spec.convert(env[var], var)
    return values


def _read_config(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise SettingsError(f"config file {path} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    values: dict[str, Any] = {}
    for name, raw in data.items():
        spec = _FIELDS.get(name)
        if spec is None:
            known = ", ".join(sorted(_FIELDS))
            raise SettingsError(f"config file {path}: unknown setting {name!r} (known: {known})")
        value = spec.convert(raw, f"{name} (in {path})")
        if spec.is_path and isinstance(value, Path) and not value.is_absolute():
            # A relative path in a config file means relative to that file.
            value = path.parent / value
        values[name] = value
    return values


# --- the secret key ----------------------------------------------------------


def load_secret_key(path: Path) -> bytes:
    """Read the key file, creating it (mode 0600, 32 random bytes) if it is missing.

    Creation is atomic (write a private temporary file, then hard-link it into
    place), so a CLI and a server starting together agree on one key.
    """
    try:
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            key = _create_secret_key(path)
    except OSError as exc:
        raise SettingsError(
            f"secret key file {path} cannot be read or created: {exc.strerror or exc}"
        ) from None
    if len(key) < SECRET_KEY_BYTES:
        raise SettingsError(
            f"secret key file {path} holds {len(key)} bytes; it needs at least "
            f"{SECRET_KEY_BYTES}. Remove it to have a new one made (this voids every "
            "invite link and login)."
        )
    mode = path.stat().st_mode
    if mode & 0o077:
        logger.warning(
            "secret key file %s is readable by other users (mode %o); run chmod 600 on it",
            path,
            mode & 0o777,
        )
    return key


def _create_secret_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(SECRET_KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return path.read_bytes()  # another process made it first: use theirs
    finally:
        tmp.unlink(missing_ok=True)
    return key


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A sub-key for one purpose, so no two uses of the server secret share a key."""
    return hmac.digest(secret, b"accord:" + purpose.encode(), "sha256")
