"""Settings read the environment: production values pass `check --deploy`, and a production
start without SECRET_KEY fails with a message that says what to do. Each case runs manage.py
in a fresh process with a controlled environment (and no .env)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent


def _manage(*args, **environment):
    env = {
        "PATH": os.environ["PATH"],
        "ENV_FILE": os.devnull,
        # A real server is not needed for these checks, only a PostgreSQL URL.
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/pipeline_crm",
        **environment,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "crm.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://crm.example.com",
}


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "DEBUG", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_missing_secret_key_with_debug_off_fails_clearly():
    environment = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    result = _manage("check", **environment)
    assert result.returncode != 0
    assert "SECRET_KEY is not set. With DEBUG off there is no default" in result.stderr


def test_debug_on_runs_without_secret_key():
    result = _manage("check", DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_bad_currency_is_refused():
    result = _manage("check", DEBUG="true", DEFAULT_CURRENCY="EURO")
    assert result.returncode != 0
    assert "DEFAULT_CURRENCY must be a 3-letter currency code" in result.stderr


def test_sqlite_is_refused():
    result = _manage("check", DEBUG="true", DATABASE_URL="sqlite:///db.sqlite3")
    assert result.returncode != 0
    assert "DATABASE_URL must point to PostgreSQL" in result.stderr


def test_redis_url_puts_cache_and_sessions_on_redis():
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; "
        "print(s.CACHES['default']['BACKEND'], s.SESSION_ENGINE)",
        DEBUG="true",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "django.contrib.sessions.backends.cached_db",
    ]


@pytest.mark.django_db
def test_the_suite_runs_on_postgresql():
    from django.db import connection

    assert connection.vendor == "postgresql"
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def test_without_pgserver_the_error_says_to_set_database_url(monkeypatch, tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    from pipeline_crm import devdb

    monkeypatch.setitem(sys.modules, "pgserver", None)  # makes `import pgserver` fail
    with pytest.raises(ImproperlyConfigured, match="Set DATABASE_URL"):
        devdb.database_url(tmp_path / "pgdata")
