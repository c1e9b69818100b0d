"""The agents' ticket page in a real browser (issue: the agent workspace): an agent has a
ticket open; a new WhatsApp message for it appears within 2 seconds without a reload,
shown as text; a second agent opening it is shown to the first, and the first to it.
Screenshots go to test-results/ when it fails."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from playwright.sync_api import expect

from complaints import services
from complaints.choices import AuthorKind, Channel
from complaints.models import CannedResponse, Ticket
from tests.browser import browser_page
from tests.factories import CitizenFactory
from tests.results import RESULTS

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
PAYLOAD = "Air sudah mengalir? <img src=x onerror=__xss('live')>"


def sign_in(context: Any, base: str, user: Any) -> None:
    session = Client()
    session.force_login(user)
    cookie = session.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])


def _citizen_writes(ticket: Ticket) -> None:
    try:
        services.post_message(
            ticket=ticket, body=PAYLOAD, author_kind=AuthorKind.CITIZEN, channel=Channel.WHATSAPP
        )
    finally:
        connection.close()


@contextmanager
def screenshots_on_failure(*pages: Any) -> Iterator[None]:
    try:
        yield
    except BaseException:
        RESULTS.mkdir(exist_ok=True)
        for n, page in enumerate(pages):
            page.screenshot(path=str(RESULTS / f"agent-browser-{n}.png"), full_page=True)
        raise


def test_a_new_message_appears_live_and_agents_see_each_other(
    chat_server: str, agent: Any, other_agent: Any
) -> None:
    ticket = services.open_ticket(
        citizen=CitizenFactory(), channel=Channel.WHATSAPP, subject="Air mati", body="Tiga hari."
    )
    url = f"{chat_server}/{settings.ADUAN_ADMIN_URL}complaints/ticket/{ticket.pk}/change/"
    with browser_page(chat_server) as (page, traps):
        sign_in(page.context, chat_server, agent)
        second_context = page.context.browser.new_context()
        second = second_context.new_page()
        with screenshots_on_failure(page, second):
            page.goto(url)
            expect(page.locator("#live-state")).to_have_text("Live", timeout=10_000)
            with ThreadPoolExecutor(1) as citizen_side:  # as a webhook's worker would
                citizen_side.submit(_citizen_writes, ticket).result()
            shown = page.locator("#live-messages li .live-body")
            # The thread as the page opened, then the new message: as text, within 2 s.
            expect(shown).to_have_text(["Tiga hari.", PAYLOAD], timeout=2_000)

            sign_in(second_context, chat_server, other_agent)
            second.goto(url)
            expect(second.locator("#live-state")).to_have_text("Live", timeout=10_000)
            expect(page.locator("#live-presence")).to_contain_text("agent-2", timeout=2_000)
            expect(second.locator("#live-presence")).to_contain_text("agent-1", timeout=2_000)
            second_context.close()
            expect(page.locator("#live-presence")).to_be_hidden(timeout=5_000)
    traps.assert_clean()


def _opened() -> Ticket:
    try:
        return services.open_ticket(
            citizen=CitizenFactory(), channel=Channel.WHATSAPP, subject="Baru", body="Tolong."
        )
    finally:
        connection.close()


def test_the_queue_announces_new_tickets_live(chat_server: str, agent: Any) -> None:
    with browser_page(chat_server) as (page, traps):
        sign_in(page.context, chat_server, agent)
        with screenshots_on_failure(page):
            before = services.open_ticket(
                citizen=CitizenFactory(), channel=Channel.WHATSAPP, subject="Lama", body="Lama."
            )
            page.goto(f"{chat_server}/{settings.ADUAN_ADMIN_URL}complaints/ticket/")
            expect(page.locator("#result_list")).to_contain_text(before.number)
            page.wait_for_selector("#result_list[data-live=on]")  # its socket is open
            with ThreadPoolExecutor(1) as channel_side:
                new = channel_side.submit(_opened).result()
            expect(page.locator("#queue-live")).to_contain_text(new.number, timeout=2_000)
    traps.assert_clean()


def test_the_composer_fills_a_canned_response_and_sends_it_with_the_status_block(
    chat_server: str, agent: Any
) -> None:
    ticket = services.open_ticket(
        citizen=CitizenFactory(name="Sari"), channel=Channel.WHATSAPP, subject="Air", body="Mati."
    )
    CannedResponse.objects.create(title="Sapa", body="Halo {citizen_name}, {ticket_number} dicek.")
    url = f"{chat_server}/{settings.ADUAN_ADMIN_URL}complaints/ticket/{ticket.pk}/change/"
    with browser_page(chat_server) as (page, traps):
        sign_in(page.context, chat_server, agent)
        with screenshots_on_failure(page):
            page.goto(url)
            page.select_option("#canned-response", label="Sapa")
            filled = f"Halo Sari, {ticket.number} dicek."
            expect(page.locator("#reply-body")).to_have_value(filled)
            page.check("input[name=mode][value=note]")
            expect(page.locator("#status-block-part")).to_be_hidden()
            page.check("input[name=mode][value=reply]")
            expect(page.locator("#status-block")).to_contain_text(
                f"Status pengaduan {ticket.number}"
            )
            page.click("#reply-form button[type=submit]")
            last = page.locator("#live-messages li.live-message .live-body").last
            expect(last).to_contain_text(filled)
            expect(last).to_contain_text("Langkah berikut:")
    traps.assert_clean()


def test_the_dashboard_draws_its_charts(chat_server: str, agent: Any) -> None:
    services.open_ticket(
        citizen=CitizenFactory(), channel=Channel.WHATSAPP, subject="Air", body="Mati."
    )
    with browser_page(chat_server) as (page, traps):
        sign_in(page.context, chat_server, agent)
        with screenshots_on_failure(page):
            page.goto(f"{chat_server}/{settings.ADUAN_ADMIN_URL}")
            expect(page.locator("#figure-open")).to_have_text("1")
            expect(page.locator(".aduan-chart[data-series=open_by_status] svg rect")).to_have_count(
                5
            )
            expect(page.locator(".aduan-chart[data-series=per_day] svg rect")).to_have_count(14)
    traps.assert_clean()
