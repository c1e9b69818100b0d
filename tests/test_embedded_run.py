"""The embedded mode end to end: with no services, the ASGI server serves the admin login
and agent/agent logs in (what `make run` starts, without the process manager)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ROOT, asgi_server


@pytest.fixture
def embedded_server(tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings.base", "ADUAN_VAR_DIR": str(tmp_path)}
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"], ["loaddemo"]):
        subprocess.run(
            [*manage, *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=180,
        )
    with asgi_server(env) as base:
        yield base


def test_the_embedded_server_serves_the_login_and_agent_logs_in(embedded_server: str) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{embedded_server}/admin/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, page[:500]
    css = opener.open(f"{embedded_server}/static/admin/css/base.css")
    assert css.status == 200

    form = urllib.parse.urlencode(
        {
            "username": "agent",
            "password": "agent",
            "csrfmiddlewaretoken": token.group(1),
            "next": "/admin/complaints/ticket/",
        }
    ).encode()
    request = urllib.request.Request(
        f"{embedded_server}/admin/login/",
        data=form,
        headers={"Referer": f"{embedded_server}/admin/login/"},
    )
    queue = opener.open(request).read().decode()

    assert "Select ticket to change" in queue
    assert len(re.findall(r"ADU-\d{4}-[0-9A-Z]{6}", queue)) >= 3
    ready = opener.open(f"{embedded_server}/readyz").read().decode()
    assert '"database": "ok"' in ready and '"redis": "not configured"' in ready
