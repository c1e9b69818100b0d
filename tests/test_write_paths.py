"""The status changes only through lifecycle transitions called by the service layer."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["complaints", "channels_ingest", "escalation", "partners", "config"]
# A bulk write that sets the status, or a raw assignment to it, bypasses the lifecycle.
FORBIDDEN = [
    re.compile(r"\.update\([^)]*\bstatus\s*="),
    re.compile(r"bulk_update\([^)]*status"),
    re.compile(r"\.status\s*=[^=]"),
    re.compile(r"UPDATE\s+\S*ticket\S*\s+SET\s+status", re.IGNORECASE),
]


def test_no_application_code_writes_the_status_outside_transitions() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if any(pattern.search(line) for pattern in FORBIDDEN)
    ]
    assert offenders == []


def test_the_scan_recognises_a_bulk_status_write() -> None:
    line = 'Ticket.objects.filter(pk=1).update(priority="high", status="closed")'
    assert any(pattern.search(line) for pattern in FORBIDDEN)
    assert not any(
        pattern.search(p)
        for p in ['filter(status="new")', "if t.status == x"]
        for pattern in FORBIDDEN
    )
