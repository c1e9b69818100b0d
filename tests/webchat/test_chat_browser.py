"""T-i for chat text, in a real browser: citizens' and agents' messages carrying script
payloads show as text in the chat page and in the admin, and none of them runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from playwright.sync_api import expect

from complaints import services
from complaints.choices import AuthorKind
from complaints.models import Ticket
from tests.browser import browser_page, record_calls
from tests.xss_payloads import PAYLOADS
from webchat.models import Conversation

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
NAME = "<img src=x onerror=__xss('name')>Sari"


def _reply_with_every_payload(ticket: Ticket, agent: Any) -> None:
    try:
        for payload in PAYLOADS.values():
            services.post_message(
                ticket=ticket, body=payload, author_kind=AuthorKind.AGENT, by=agent
            )
    finally:
        connection.close()


def test_chat_payloads_render_as_text_and_never_run(chat_server: str, supervisor: Any) -> None:
    with browser_page(chat_server) as (page, traps):
        page.goto(f"{chat_server}/chat/")
        page.fill("#name", NAME)
        page.click("#intro button")
        page.wait_for_selector("#state:text('Tersambung.')")
        for payload in PAYLOADS.values():
            page.fill("#text", payload)
            page.click("#composer button")
            expect(page.locator("#log li.sending")).to_have_count(0)
        page.wait_for_selector("#number:not([hidden])")

        ticket = Ticket.objects.get()
        # From another thread, as an agent's request would come: this one runs
        # Playwright's event loop, and live pushes from here would not leave it.
        with ThreadPoolExecutor(1) as agent_side:
            agent_side.submit(_reply_with_every_payload, ticket, supervisor).result()
        expect(page.locator("#log li.agent")).to_have_count(len(PAYLOADS), timeout=20_000)
        shown = page.locator("#log li").all_text_contents()
        record_calls(page, traps)

        admin = f"{chat_server}/{settings.ADUAN_ADMIN_URL}"
        session = Client()
        session.force_login(supervisor)
        page.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": session.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": chat_server,
                }
            ]
        )
        conversation = Conversation.objects.get()
        for path in (
            "complaints/ticket/",
            f"complaints/ticket/{ticket.pk}/change/",
            f"webchat/conversation/{conversation.pk}/change/",
            "complaints/citizen/",
        ):
            response = page.goto(admin + path)
            assert response is not None and response.status == 200, path
            assert page.locator("text=" + PAYLOADS["x00"]).count() >= 1 or path.endswith("citizen/")
            record_calls(page, traps)
        admin_text = page.locator("body").inner_text()

    traps.assert_clean()
    assert f"Nomor pengaduan: {ticket.number}" in shown or any(ticket.number in t for t in shown)
    citizen_texts = [t for t in shown if t in PAYLOADS.values()]
    assert len(citizen_texts) == len(PAYLOADS)  # each shown whole, as typed
    assert sum(payload in t for t in shown for payload in PAYLOADS.values()) >= 2 * len(PAYLOADS)
    assert NAME in admin_text  # the visitor's name, shown as typed in the citizens' list
