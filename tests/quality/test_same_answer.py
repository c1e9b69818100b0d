"""The same-answer detector through the product: replies sent by agents are fingerprinted
after commit; the same text to questions of different kinds is flagged for review with
the evidence side by side; a canned response used for its own kind of question is not."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, TestCase
from django.urls import reverse

from complaints.choices import AuthorKind
from complaints.models import Category, Message, Ticket
from complaints.services import post_message, reply
from quality import detector, services
from quality.models import FlagState, ReplyFingerprint, SameAnswerFlag
from tests.factories import CitizenFactory, MessageFactory, TicketFactory
from tests.quality.pairs import CANNED, GENERIC, QUESTIONS, pairs

pytestmark = pytest.mark.django_db


def asked(question: str, kind: str | None, name: str = "Sari") -> Ticket:
    category = (
        Category.objects.get_or_create(code=kind, defaults={"name": kind})[0] if kind else None
    )
    ticket = TicketFactory(
        status="in_progress", category=category, citizen=CitizenFactory(name=name)
    )
    MessageFactory(ticket=ticket, body=question)
    return ticket


def answer(ticket: Ticket, by: User, text: str, **kwargs: Any) -> Message:
    """A reply as the product sends it: its after-commit work (the fingerprint) runs."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return post_message(ticket=ticket, body=text, author_kind=AuthorKind.AGENT, by=by, **kwargs)


def composed(ticket: Ticket, by: User, text: str) -> Message:
    """A reply from the agent's composer (with its status block)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return reply(ticket=ticket, by=by, body=text)


def test_the_same_text_to_questions_of_different_kinds_is_flagged(agent: User) -> None:
    water = asked(QUESTIONS["air"][0], "air")
    bill = asked(QUESTIONS["tagihan"][1], "tagihan")

    first = answer(water, agent, GENERIC[0])
    second = answer(bill, agent, GENERIC[0])

    flag = SameAnswerFlag.objects.get()
    assert (flag.reply, flag.earlier, flag.author) == (second, first, agent)
    assert flag.reply_similarity == 1.0 and flag.state == FlagState.OPEN
    assert ReplyFingerprint.objects.count() == 2


def test_a_canned_response_for_its_own_kind_of_question_is_not_flagged(agent: User) -> None:
    for n, name in enumerate(["Sari", "Budi Santoso", "Wulan"]):
        ticket = asked(QUESTIONS["obat"][n], "obat", name)
        composed(ticket, agent, CANNED["obat"].format(name=name, number=ticket.number))

    assert ReplyFingerprint.objects.count() == 3
    assert not SameAnswerFlag.objects.exists()


def test_the_status_block_and_filled_placeholders_do_not_hide_a_repeated_text(
    agent: User,
) -> None:
    road = asked(QUESTIONS["jalan"][0], "jalan", "Agus")
    card = asked(QUESTIONS["bpjs"][0], "bpjs", "Dewi Lestari")

    composed(road, agent, CANNED["jalan"].format(name="Agus", number=road.number))
    composed(card, agent, CANNED["jalan"].format(name="Dewi", number=card.number))

    assert SameAnswerFlag.objects.count() == 1


def test_only_the_same_authors_replies_are_compared_and_notes_are_not(
    agent: User, other_agent: User
) -> None:
    water = asked(QUESTIONS["air"][0], "air")
    bill = asked(QUESTIONS["tagihan"][1], "tagihan")
    answer(water, agent, GENERIC[1])
    answer(bill, other_agent, GENERIC[1])
    answer(bill, agent, GENERIC[1], is_internal=True)

    assert not SameAnswerFlag.objects.exists()
    assert ReplyFingerprint.objects.count() == 2  # the note is not a reply


def test_uncategorised_tickets_fall_back_to_the_questions_words(agent: User) -> None:
    water = asked(QUESTIONS["air"][0], None)
    same_words = asked(QUESTIONS["air"][0], None, "Budi")
    other = asked(QUESTIONS["ktp"][2], None, "Nur")

    answer(water, agent, GENERIC[2])
    answer(same_words, agent, GENERIC[2])  # the same question: the same answer fits
    assert not SameAnswerFlag.objects.exists()
    answer(other, agent, GENERIC[2])
    assert SameAnswerFlag.objects.count() == 2  # against both earlier ones


def test_fingerprinting_twice_changes_nothing_and_the_sweep_catches_up(agent: User) -> None:
    water = asked(QUESTIONS["air"][0], "air")
    bill = asked(QUESTIONS["tagihan"][1], "tagihan")
    answer(water, agent, GENERIC[0])
    second = answer(bill, agent, GENERIC[0])
    ReplyFingerprint.objects.filter(message=second).delete()
    SameAnswerFlag.objects.all().delete()

    assert services.unfingerprinted() == [second.pk]
    from quality.tasks import sweep_fingerprints

    assert sweep_fingerprints() == 1
    assert services.fingerprint_reply(second.pk) == []
    assert SameAnswerFlag.objects.count() == 1 and ReplyFingerprint.objects.count() == 2


def test_a_supervisor_reviews_the_evidence_side_by_side(agent: User, supervisor: User) -> None:
    water = asked(QUESTIONS["air"][0], "air")
    bill = asked(QUESTIONS["tagihan"][1], "tagihan")
    answer(water, agent, GENERIC[0])
    answer(bill, agent, GENERIC[0])
    flag = SameAnswerFlag.objects.get()
    client = Client()
    client.force_login(supervisor)

    page = unescape(
        client.get(reverse("admin:quality_sameanswerflag_change", args=[flag.pk])).content.decode()
    )
    evidence = page[page.index('id="evidence"') :]
    for text in (QUESTIONS["air"][0], QUESTIONS["tagihan"][1], water.number, bill.number):
        assert text in evidence
    assert evidence.count(GENERIC[0]) == 2

    changelist = reverse("admin:quality_sameanswerflag_changelist")
    client.post(changelist, {"action": "dismiss", "_selected_action": [flag.pk]})
    flag.refresh_from_db()
    assert (flag.state, flag.reviewed_by) == (FlagState.DISMISSED, supervisor)


def test_agents_do_not_see_the_flags(agent: User) -> None:
    client = Client()
    client.force_login(agent)

    response = client.get(reverse("admin:quality_sameanswerflag_changelist"))

    assert response.status_code == 403


def test_the_detector_on_the_labelled_set(record_property: Any) -> None:
    """Precision and recall on the labelled pairs (bench/quality.py prints them by kind)."""
    tp = fp = fn = 0
    labelled = pairs()
    assert len(labelled) >= 200
    for pair in labelled:
        r = detector.similarity(
            detector.signature(pair.reply_a, [pair.name_a]),
            detector.signature(pair.reply_b, [pair.name_b]),
        )
        q = detector.similarity(
            detector.signature(pair.question_a), detector.signature(pair.question_b)
        )
        same = (
            None
            if pair.category_a is None or pair.category_b is None
            else pair.category_a == pair.category_b
        )
        flagged = detector.same_answer(r, q, same)
        tp += flagged and pair.flag
        fp += flagged and not pair.flag
        fn += pair.flag and not flagged
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    record_property("precision", precision)
    record_property("recall", recall)
    assert precision >= 0.9 and recall >= 0.95


def test_replies_with_no_words_are_not_the_same_answer(agent: User) -> None:
    water = asked(QUESTIONS["air"][0], "air")
    bill = asked(QUESTIONS["tagihan"][1], "tagihan")

    answer(water, agent, "123")
    answer(bill, agent, "456 !!")

    assert ReplyFingerprint.objects.count() == 2 and not SameAnswerFlag.objects.exists()
