"""Ticket numbers: format, uniqueness (also under concurrent creation), tolerant lookup."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection

from complaints import numbers
from complaints.choices import Channel
from complaints.models import Message, Ticket
from complaints.numbers import generate_number, normalise_number
from complaints.selectors import ticket_by_number
from complaints.services import identify_citizen, open_ticket
from tests.factories import CitizenFactory, TicketFactory

NUMBER = re.compile(r"^ADU-\d{4}-[0-9A-HJKMNP-TV-Z]{6}$")


def test_numbers_have_the_prefix_the_month_and_six_crockford_characters() -> None:
    drawn = {generate_number(datetime(2026, 11, 5, tzinfo=UTC)) for _ in range(500)}
    assert all(NUMBER.match(n) and n.startswith("ADU-2611-") for n in drawn)
    assert len(drawn) == 500  # random, not sequential: no clash in 500 draws of 32**6


def test_the_month_is_the_institutions_local_month() -> None:
    # 18:00 UTC on 30 November is already 1 December in Jakarta (UTC+7).
    assert generate_number(datetime(2026, 11, 30, 18, 0, tzinfo=UTC)).startswith("ADU-2612-")


def test_the_prefix_comes_from_settings(settings: Any) -> None:
    settings.ADUAN_TICKET_PREFIX = "LAPOR"
    assert generate_number(datetime(2026, 1, 1, 12, tzinfo=UTC)).startswith("LAPOR-2601-")


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("ADU-2611-7K3QX9", "ADU-2611-7K3QX9"),
        ("adu-2611-7k3qx9", "ADU-2611-7K3QX9"),
        ("  ADU-2611-7K3QX9 ", "ADU-2611-7K3QX9"),
        ("ADU-26I1-7K3QXO", "ADU-2611-7K3QX0"),
        ("adu-2611-ilo0lo", "ADU-2611-110010"),
        ("ADU - 2611 - 7K3QX9", "ADU-2611-7K3QX9"),
    ],
)
def test_typed_numbers_are_read_as_crockford_says(typed: str, canonical: str) -> None:
    assert normalise_number(typed) == canonical


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "ADU",
        "ADU-2611",
        "ADU-2611-7K3QX",
        "ADU-2611-7K3QX99",
        "ADU-26X1-7K3QX9",
        "ADU-2611-7K3QU9",
        "ADU-2611-7K3QX9-1",
        "'; DROP TABLE--",
    ],
)
def test_what_cannot_be_a_number_is_refused(typed: str) -> None:
    assert normalise_number(typed) is None


@pytest.mark.django_db
def test_lookup_by_number_tolerates_case_and_confusable_letters(agent: Any) -> None:
    ticket = TicketFactory(number="ADU-2611-10K0X1")
    assert ticket_by_number("adu-2611-lok0xi", user=agent) == ticket
    assert ticket_by_number("ADU-2611-10K0X2", user=agent) is None


@pytest.mark.django_db
def test_opening_a_ticket_numbers_it_in_the_same_transaction_as_its_first_message() -> None:
    citizen = identify_citizen(channel=Channel.WHATSAPP, address="081234567890", name="Sari")

    ticket = open_ticket(
        citizen=citizen,
        channel=Channel.WHATSAPP,
        subject="",
        body="Obat belum datang\nsejak kemarin",
    )

    assert NUMBER.match(ticket.number)
    assert ticket.subject == "Obat belum datang"
    message = ticket.messages.get()
    assert (message.direction, message.author_kind, message.body) == (
        "inbound",
        "citizen",
        "Obat belum datang\nsejak kemarin",
    )
    assert ticket.events.get().kind == "created"


class ScriptedRandom:
    """Draws the given codes first, then random ones: to force a clash."""

    def __init__(self, codes: list[str]) -> None:
        self.chars: Iterator[str] = iter("".join(codes))

    def choice(self, alphabet: str) -> str:
        return next(self.chars, None) or numbers.secrets.choice(alphabet)


@pytest.mark.django_db
def test_a_clash_with_an_existing_number_draws_another(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = TicketFactory(number=generate_number(datetime.now(UTC))[:-6] + "AAAAAA")
    monkeypatch.setattr(numbers, "_random", ScriptedRandom(["AAAAAA", "BBBBBB"]))

    ticket = open_ticket(citizen=CitizenFactory(), channel=Channel.API, subject="Jalan", body="x")

    assert ticket.number.endswith("-BBBBBB")
    assert Ticket.objects.filter(number=taken.number).count() == 1
    assert Message.objects.filter(ticket=ticket).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_numbers_stay_unique_when_many_tickets_are_opened_at_once(close_db_connection: Any) -> None:
    citizen = CitizenFactory()
    threads_n, per_thread = 8, 25
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    @close_db_connection
    def work() -> None:
        barrier.wait()
        try:
            for i in range(per_thread):
                open_ticket(citizen=citizen, channel=Channel.API, subject=f"Aduan {i}", body="isi")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    numbers_made = list(Ticket.objects.values_list("number", flat=True))
    assert len(numbers_made) == len(set(numbers_made)) == threads_n * per_thread
    assert all(NUMBER.match(n) for n in numbers_made)
    assert Message.objects.count() == threads_n * per_thread
    assert connection.vendor == "postgresql"
