"""Settings: defaults, derivations, precedence (flags > env > config file > defaults), checks."""

from __future__ import annotations

import dataclasses
import os
import stat
import threading
from pathlib import Path

import pytest

import accord
from accord.settings import (
    Settings,
    SettingsError,
    derive_key,
    env_var,
    load_secret_key,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert (s.host, s.port) == ("127.0.0.1", 8700)
    assert s.database_path == tmp_path / "accord.sqlite3"
    assert s.secret_key_path == tmp_path / "secret.key"
    assert s.redis_url is None
    assert s.base_url == "http://127.0.0.1:8700"
    assert s.protocols_dir == Path(accord.__file__).resolve().parents[2] / "protocols"
    assert s.invite_ttl_s == 7 * 24 * 3600
    assert s.grace_period_s == 30
    assert s.max_frame_bytes == 65536
    assert s.log_level == "info"
    assert s.gc_tuning is True
    assert s.origins == (
        "http://127.0.0.1:8700",
        "http://localhost:8700",
        "http://[::1]:8700",
    )
    assert not s.cookie_secure


def test_default_data_dir_is_the_platform_user_data_dir() -> None:
    import platformdirs

    assert Settings().data_dir == Path(platformdirs.user_data_dir("accord"))


def test_derived_values_follow_replace(tmp_path: Path) -> None:
    s = dataclasses.replace(Settings(data_dir=tmp_path), port=9123, data_dir=tmp_path / "x")
    assert s.base_url == "http://127.0.0.1:9123"
    assert "http://localhost:9123" in s.origins
    assert s.database_path == tmp_path / "x" / "accord.sqlite3"


def test_wildcard_host_gives_a_browsable_public_url() -> None:
    assert Settings(host="0.0.0.0", port=80).base_url == "http://localhost:80"
    assert Settings(host="::1", port=81).base_url == "http://[::1]:81"


def test_public_url_sets_origin_and_secure_cookie() -> None:
    s = Settings(public_url="https://Accord.Example.org/")
    assert s.base_url == "https://Accord.Example.org"
    assert s.origins[0] == "https://accord.example.org"
    assert "http://localhost:8700" in s.origins
    assert s.cookie_secure


def test_explicit_values_win_over_derivations(tmp_path: Path) -> None:
    s = Settings(
        data_dir=tmp_path,
        database=tmp_path / "db" / "a.sqlite3",
        secret_key_file=tmp_path / "k",
        allowed_origins=("https://a.example:8443",),
    )
    assert s.database_path == tmp_path / "db" / "a.sqlite3"
    assert s.secret_key_path == tmp_path / "k"
    assert s.origins == ("https://a.example:8443",)


def test_load_with_nothing_gives_defaults() -> None:
    assert Settings.load({}, {}, None) == Settings()


def test_env_values_are_parsed(tmp_path: Path) -> None:
    env = {
        "ACCORD_HOST": "0.0.0.0",
        "ACCORD_PORT": "9001",
        "ACCORD_DATA_DIR": str(tmp_path),
        "ACCORD_REDIS_URL": "redis://localhost:6379/0",
        "ACCORD_PUBLIC_URL": "https://accord.example.org",
        "ACCORD_PROTOCOLS_DIR": str(tmp_path / "p"),
        "ACCORD_INVITE_TTL_S": "3600",
        "ACCORD_GRACE_PERIOD_S": "2.5",
        "ACCORD_MAX_FRAME_BYTES": "4096",
        "ACCORD_ALLOWED_ORIGINS": "https://a.example, https://b.example:8443",
        "ACCORD_LOG_LEVEL": "DEBUG",
        "ACCORD_GC_TUNING": "off",
        "ACCORD_LOGIN_TTL_S": "60",
        "ACCORD_COMMIT_WINDOW_MS": "5.5",
        "ACCORD_DATABASE": str(tmp_path / "d.sqlite3"),
        "ACCORD_SECRET_KEY_FILE": str(tmp_path / "k"),
        "UNRELATED": "x",
    }
    s = Settings.load({}, env, None)
    assert s.host == "0.0.0.0"
    assert s.port == 9001
    assert s.data_dir == tmp_path
    assert s.redis_url == "redis://localhost:6379/0"
    assert s.base_url == "https://accord.example.org"
    assert s.protocols_dir == tmp_path / "p"
    assert s.invite_ttl_s == 3600
    assert s.grace_period_s == 2.5
    assert s.max_frame_bytes == 4096
    assert s.origins == ("https://a.example", "https://b.example:8443")
    assert s.log_level == "debug"
    assert s.gc_tuning is False
    assert s.login_ttl_s == 60
    assert s.commit_window_ms == 5.5
    assert s.database_path == tmp_path / "d.sqlite3"
    assert s.secret_key_path == tmp_path / "k"


def test_every_field_has_an_env_var() -> None:
    names = [f.name for f in dataclasses.fields(Settings)]
    assert env_var("data_dir") == "ACCORD_DATA_DIR"
    assert len({env_var(n) for n in names}) == len(names)


def test_precedence_flags_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    config = write(
        tmp_path / "accord.toml",
        'host = "10.0.0.1"\nport = 7000\nlog_level = "warning"\ninvite_ttl_s = 100\n',
    )
    env = {"ACCORD_PORT": "7001", "ACCORD_LOG_LEVEL": "error"}
    s = Settings.load({"log_level": "critical", "host": None}, env, config)
    assert s.log_level == "critical"  # flag
    assert s.port == 7001  # env beats file
    assert s.host == "10.0.0.1"  # file (the None flag is "not given")
    assert s.invite_ttl_s == 100  # file
    assert s.grace_period_s == 30  # default


def test_config_file_named_by_env(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "port = 7100\n")
    assert Settings.load({}, {"ACCORD_CONFIG": str(config)}, None).port == 7100
    # An explicit --config wins over ACCORD_CONFIG.
    other = write(tmp_path / "d.toml", "port = 7200\n")
    assert Settings.load({}, {"ACCORD_CONFIG": str(config)}, other).port == 7200


def test_config_file_types_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    config = write(
        tmp_path / "etc" / "accord.toml",
        'data_dir = "data"\nallowed_origins = ["https://x.example"]\ngc_tuning = false\n'
        "grace_period_s = 5\n",
    )
    s = Settings.load({}, {}, config)
    assert s.data_dir == tmp_path / "etc" / "data"
    assert s.origins == ("https://x.example",)
    assert s.gc_tuning is False
    assert s.grace_period_s == 5.0


def test_unknown_key_in_config_file_is_an_error_naming_it(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "port = 1\nprot = 2\n")
    with pytest.raises(SettingsError, match="unknown setting 'prot'"):
        Settings.load({}, {}, config)


def test_bad_config_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        Settings.load({}, {}, tmp_path / "missing.toml")
    with pytest.raises(SettingsError, match="not valid TOML"):
        Settings.load({}, {}, write(tmp_path / "bad.toml", "port = \n"))
    with pytest.raises(SettingsError, match=r"port .*must be an integer"):
        Settings.load({}, {}, write(tmp_path / "t.toml", 'port = "x"\n'))
    with pytest.raises(SettingsError, match=r"gc_tuning .*true or false"):
        Settings.load({}, {}, write(tmp_path / "b.toml", 'gc_tuning = "maybe"\n'))


def test_unknown_override_is_an_error() -> None:
    with pytest.raises(SettingsError, match="unknown setting 'colour'"):
        Settings.load({"colour": "blue"}, {}, None)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ACCORD_PORT": "eighty"}, "ACCORD_PORT must be an integer"),
        ({"ACCORD_PORT": "70000"}, "port must be between"),
        ({"ACCORD_GC_TUNING": "perhaps"}, "ACCORD_GC_TUNING must be true or false"),
        ({"ACCORD_LOG_LEVEL": "loud"}, "log_level must be one of"),
        ({"ACCORD_INVITE_TTL_S": "0"}, "invite_ttl_s must be a positive"),
        ({"ACCORD_GRACE_PERIOD_S": "-1"}, "grace_period_s must not be negative"),
        ({"ACCORD_GRACE_PERIOD_S": "soon"}, "must be a number"),
        ({"ACCORD_MAX_FRAME_BYTES": "10"}, "max_frame_bytes must be at least"),
        ({"ACCORD_COMMIT_WINDOW_MS": "-1"}, "commit_window_ms must be between 0 and 50"),
        ({"ACCORD_COMMIT_WINDOW_MS": "500"}, "commit_window_ms must be between 0 and 50"),
        ({"ACCORD_LOGIN_TTL_S": "0"}, "login_ttl_s must be a positive"),
        ({"ACCORD_PUBLIC_URL": "ftp://x"}, "public_url must be an http"),
        ({"ACCORD_PUBLIC_URL": "https://x/#a"}, "must not have a query or fragment"),
        ({"ACCORD_REDIS_URL": "http://x"}, "redis_url must start with"),
        ({"ACCORD_ALLOWED_ORIGINS": "https://x/path"}, "allowed_origins entries"),
    ],
)
def test_bad_values_are_refused_with_the_name(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.load({}, env, None)


def test_empty_env_value_clears_an_optional_setting(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", 'redis_url = "redis://r:6379"\n')
    assert Settings.load({}, {"ACCORD_REDIS_URL": ""}, config).redis_url is None


def test_redis_url_is_kept_out_of_repr() -> None:
    s = Settings(redis_url="redis://:hunter2@r:6379")
    assert "hunter2" not in repr(s)


def test_no_io_until_the_secret_key_is_used(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "data")
    assert not (tmp_path / "data").exists()
    key = s.secret_key
    assert len(key) == 32
    assert s.secret_key is key  # read once
    path = tmp_path / "data" / "secret.key"
    assert path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Another process (a new Settings) reads the same key.
    assert Settings(data_dir=tmp_path / "data").secret_key == key


def test_secret_key_creation_races_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    keys: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: keys.append(load_secret_key(path))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]


def test_short_secret_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_bytes(b"short")
    os.chmod(path, 0o600)
    with pytest.raises(SettingsError, match="holds 5 bytes"):
        load_secret_key(path)


def test_derived_keys_differ_by_purpose() -> None:
    secret = b"s" * 32
    assert derive_key(secret, "a") != derive_key(secret, "b")
    assert derive_key(secret, "a") == derive_key(secret, "a")
    assert len(derive_key(secret, "a")) == 32


def test_unusable_secret_key_location_is_a_settings_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(SettingsError, match="cannot be read or created"):
        load_secret_key(tmp_path / "file" / "secret.key")  # a file where a folder should be


def test_a_key_file_others_can_read_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "secret.key"
    path.write_bytes(b"x" * 32)
    os.chmod(path, 0o644)
    assert load_secret_key(path) == b"x" * 32
    assert "chmod 600" in caplog.text
