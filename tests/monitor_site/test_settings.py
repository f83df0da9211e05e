"""Settings come from the environment and fail fast on bad values."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], "
        "'broker': s.CELERY_BROKER_URL, 'batch': s.MODELWATCH_MAX_BATCH, 'debug': s.DEBUG}))"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DJANGO_DEBUG"}
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=clean
        | {"DJANGO_SETTINGS_MODULE": "monitor_site.settings", "MODELWATCH_DATA_DIR": str(tmp_path)}
        | env,
    )


def test_the_embedded_defaults_are_sqlite_and_the_filesystem_broker(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"engine": "django.db.backends.sqlite3"' in result.stdout
    assert '"broker": "filesystem://"' in result.stdout
    assert '"batch": 10000' in result.stdout
    assert (tmp_path / "secret_key").exists()
    assert (tmp_path / "broker" / "out").is_dir()


def test_database_url_and_broker_url_are_honoured(tmp_path):
    result = load_settings(
        tmp_path,
        DATABASE_URL="postgres://u@db:5432/mw",
        CELERY_BROKER_URL="redis://r:6379/0",
        MODELWATCH_MAX_BATCH="50",
    )
    assert '"engine": "django.db.backends.postgresql"' in result.stdout
    assert '"broker": "redis://r:6379/0"' in result.stdout
    assert '"batch": 50' in result.stdout


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    result = load_settings(tmp_path, DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_bad_integer_setting_fails_fast(tmp_path):
    result = load_settings(tmp_path, MODELWATCH_MAX_BATCH="lots")
    assert result.returncode != 0
    assert "MODELWATCH_MAX_BATCH must be an integer" in result.stderr
