"""Configuration from the environment (SPEC) and the static gates of T-o."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, django
from django.conf import settings
django.setup()
from config.celery import app
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "eager": app.conf.task_always_eager,
    "broker": app.conf.broker_url,
    "prefix": settings.ADUAN_TICKET_PREFIX,
    "tz": settings.TIME_ZONE,
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "hsts": settings.SECURE_HSTS_SECONDS,
    "debug": settings.DEBUG,
}))
"""


def run_with(env: dict[str, str], *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    clean |= {"DJANGO_SETTINGS_MODULE": "config.settings.base", "ADUAN_VAR_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def probe(env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    result = run_with(env, "-c", PROBE, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_with_no_services_everything_is_embedded(tmp_path: Path) -> None:
    figures = probe({}, tmp_path)
    assert figures["engine"] == "django.db.backends.sqlite3"
    assert figures["name"] == str(tmp_path / "aduan.sqlite3")
    assert figures["layer"] == "channels.layers.InMemoryChannelLayer"
    assert figures["cache"].endswith("LocMemCache")
    assert figures["eager"] is True
    assert (figures["prefix"], figures["tz"], figures["debug"]) == ("ADU", "Asia/Jakarta", False)
    key = tmp_path / "secret_key"  # generated once, kept private
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text()) >= 50


def test_database_and_redis_urls_switch_to_postgresql_redis_and_a_worker(tmp_path: Path) -> None:
    figures = probe(
        {
            "DATABASE_URL": "postgres://u@db.internal:5432/aduan",
            "REDIS_URL": "redis://r:6379/2",
            "ADUAN_TICKET_PREFIX": "lapor",
            "ADUAN_TIME_ZONE": "Asia/Makassar",
        },
        tmp_path,
    )
    assert figures["engine"] == "django.db.backends.postgresql"
    assert figures["layer"] == "channels_redis.core.RedisChannelLayer"
    assert figures["cache"] == "django_redis.cache.RedisCache"
    assert (figures["eager"], figures["broker"]) == (False, "redis://r:6379/2")
    assert (figures["prefix"], figures["tz"]) == ("LAPOR", "Asia/Makassar")


def test_https_turns_on_secure_cookies_and_hsts(tmp_path: Path) -> None:
    plain = probe({}, tmp_path)
    secure = probe({"HTTPS": "true"}, tmp_path)
    assert (plain["session_secure"], plain["csrf_secure"], plain["hsts"]) == (False, False, 0)
    assert (secure["session_secure"], secure["csrf_secure"]) == (True, True)
    assert secure["hsts"] >= 31_536_000


def test_deployment_checks_pass_with_production_settings(tmp_path: Path) -> None:
    env = {
        "DEBUG": "false",
        "HTTPS": "true",
        "ALLOWED_HOSTS": "aduan.example",
        "SECRET_KEY": "x" * 20 + "Zq8#kP2!vR5@mW9$tY3%nB6^hJ4&cF7*",
    }
    result = run_with(
        env, "manage.py", "check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deployment_checks_fail_when_production_is_left_insecure(tmp_path: Path) -> None:
    result = run_with(
        {"DEBUG": "true", "SECRET_KEY": "short"},
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        tmp_path=tmp_path,
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG on


def test_uploaded_files_are_private_to_the_service(tmp_path: Path, settings: Any) -> None:
    storage = FileSystemStorage(location=tmp_path / "media")
    name = storage.save("attachments/ab/resep.pdf", ContentFile(b"%PDF-1.4"))
    path = Path(storage.path(name))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750


@pytest.mark.parametrize("setting", ["SESSION_COOKIE_HTTPONLY", "SECURE_CONTENT_TYPE_NOSNIFF"])
def test_cookie_and_header_defaults_are_safe(settings: Any, setting: str) -> None:
    assert getattr(settings, setting) is True


@pytest.mark.django_db
def test_the_database_check_says_when_autovacuum_is_off() -> None:
    """`check --database default` (and every migrate) warns when PostgreSQL's autovacuum
    is off, and only then: asserted against the server's own setting, whichever it is;
    the embedded database has none."""
    autovacuum = "on"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW autovacuum")
            (autovacuum,) = cursor.fetchone()
    said = io.StringIO()
    call_command("check", databases=["default"], stdout=io.StringIO(), stderr=said)
    assert ("aduan.W001" in said.getvalue()) == (autovacuum != "on")
