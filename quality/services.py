"""The same-answer detector's write path: fingerprint a reply, flag what it repeats,
review a flag."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import partial
from typing import Any

import numpy as np
from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.choices import AuthorKind, Channel, Direction, Status
from complaints.models import Message, Rating, Ticket
from complaints.roles import Role, role_of
from complaints.services.messages import post_message
from complaints.services.ratings import record_rating
from quality import detector
from quality.models import (
    CsatSurvey,
    FlagState,
    ReplyFingerprint,
    Review,
    ReviewReason,
    SameAnswerFlag,
)

LOOKBACK = timedelta(days=90)
COMPARED = 500  # the author's most recent replies a new one is compared with
AUTHORS = (AuthorKind.AGENT, AuthorKind.PARTNER)


def is_checked(message: Message) -> bool:
    """Replies people send to citizens are checked (not notes, not acknowledgements)."""
    return (
        message.direction == Direction.OUTBOUND
        and not message.is_internal
        and message.author_kind in AUTHORS
    )


def fingerprint_reply(message_id: int) -> list[SameAnswerFlag]:
    """Fingerprints the reply and the question it answered, and flags the author's earlier
    replies it repeats for questions that were not alike; returns the new flags. Once per
    reply (a second call finds its fingerprint and does nothing)."""
    message = Message.objects.select_related("ticket__citizen").filter(pk=message_id).first()
    if message is None or not is_checked(message):
        return []
    if ReplyFingerprint.objects.filter(message=message).exists():
        return []
    question_text = _question(message)
    names = [message.ticket.citizen.name]
    reply = detector.signature(message.body, names)
    question = detector.signature(question_text, names)
    # Nothing to compare (an attachment, a number): every empty text "is" every other.
    said = bool(detector.normalise(message.body, names))
    asked = bool(detector.normalise(question_text, names))
    author_key = _author_key(message)
    earlier = list(
        ReplyFingerprint.objects.filter(
            author_key=author_key, created_at__gte=message.created_at - LOOKBACK
        )
        .exclude(ticket=message.ticket)
        .order_by("-created_at")
        .values_list("message_id", "reply", "question", "category_id")[:COMPARED]
    )
    flags = []
    if earlier and said:
        replies = np.stack([detector.from_bytes(bytes(row[1])) for row in earlier])
        questions = np.stack([detector.from_bytes(bytes(row[2])) for row in earlier])
        reply_sims = detector.similarities(reply, replies)
        question_sims = detector.similarities(question, questions)
        category = message.ticket.category_id
        for (other, _r, _q, their), r_sim, q_sim in zip(
            earlier, reply_sims, question_sims, strict=True
        ):
            same_category = None if category is None or their is None else category == their
            if same_category is None and not asked:
                continue  # no categories and no question words: nothing says they differ
            if detector.same_answer(float(r_sim), float(q_sim), same_category):
                flags.append(
                    SameAnswerFlag(
                        reply=message,
                        earlier_id=other,
                        author_id=message.author_id,
                        reply_similarity=round(float(r_sim), 3),
                        question_similarity=round(float(q_sim), 3),
                    )
                )
    with transaction.atomic():
        _fingerprint, created = ReplyFingerprint.objects.get_or_create(
            message=message,
            defaults={
                "ticket": message.ticket,
                "author_key": author_key,
                "category_id": message.ticket.category_id,
                "reply": detector.to_bytes(reply),
                "question": detector.to_bytes(question),
                "question_text": question_text[:4000],
                "created_at": message.created_at,
            },
        )
        if not created:
            return []
        return SameAnswerFlag.objects.bulk_create(flags, ignore_conflicts=True)


def review_flag(flag: SameAnswerFlag, *, by: Any, confirmed: bool) -> SameAnswerFlag:
    """A supervisor's verdict on a flag."""
    if role_of(by) is not Role.SUPERVISOR:
        raise PermissionDenied(_("Supervisors review flagged replies."))
    state = FlagState.CONFIRMED if confirmed else FlagState.DISMISSED
    SameAnswerFlag.objects.filter(pk=flag.pk).update(
        state=state, reviewed_by=by, reviewed_at=timezone.now()
    )
    flag.refresh_from_db()
    return flag


def unfingerprinted(since: timedelta = timedelta(days=2), limit: int = 1000) -> list[int]:
    """Replies of the last `since` with no fingerprint yet (their task was lost)."""
    return list(
        Message.objects.filter(
            direction=Direction.OUTBOUND,
            is_internal=False,
            author_kind__in=AUTHORS,
            created_at__gte=timezone.now() - since,
            fingerprint__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def _question(message: Message) -> str:
    """What the reply answered: the subject and the citizen's messages since the
    previous reply (or since the start)."""
    before = Message.objects.filter(
        ticket=message.ticket, is_internal=False, pk__lt=message.pk
    ).order_by("-pk")
    said: list[str] = []
    for direction, body in before.values_list("direction", "body")[:20]:
        if direction == Direction.OUTBOUND and said:
            break
        if direction == Direction.INBOUND:
            said.append(body)
    return "\n".join([message.ticket.subject, *reversed(said)])


def _author_key(message: Message) -> str:
    return f"user:{message.author_id}" if message.author_id else f"bot:{message.author_kind}"


# --- Outcome CSAT ----------------------------------------------------------------------

SURVEY_SALT = "aduan.csat"
SURVEY_LINK_DAYS = 30
# Channels the question goes out on (the citizen reads and answers there). The API's
# and Open311's citizens see `rating_requested` on the ticket and answer there.
ASKED_ON = frozenset(
    {
        Channel.WHATSAPP,
        Channel.TELEGRAM,
        Channel.MESSENGER,
        Channel.INSTAGRAM,
        Channel.WEBCHAT,
        Channel.EMAIL,
    }
)
# Answers: "4"; "4 ya", "5, sudah", "2 tidak, obatnya kurang" (a score, then yes or no);
# "ya", "belum.", "tidak, obatnya kurang" (yes or no alone, or before punctuation and a
# comment). Not answers: "5 hari belum datang", "Ya ampun, belum juga", "Sudah 3 hari
# air mati", "No. tiket saya …" — a message that merely starts like one.
_AFTER_SCORE = r"(?:ya|y|yes|sudah|tidak|tdk|no|belum)"
_ALONE = r"(?:ya|yes|tidak|tdk|belum)"
_ANSWER = re.compile(
    rf"^(?:(?P<score>[1-5])(?:\s*[,.;:-]?\s*(?P<solved>{_AFTER_SCORE})\b)?"
    rf"(?:[\s,.;:!-]+(?P<comment>.*))?"
    rf"|(?P<alone>{_ALONE})(?:\s*[,.;:!-]+\s*(?P<note>.*))?\s*[.!]?)$",
    re.IGNORECASE | re.DOTALL,
)
YES = {"ya", "y", "yes", "sudah"}


def ask_for_rating(ticket: Ticket) -> CsatSurvey:
    """On each resolution: the question for this round, sent after commit on the
    citizen's channel when it is one they answer on."""
    survey, created = CsatSurvey.objects.get_or_create(
        ticket=ticket,
        resolution_round=ticket.reopen_count,
        defaults={"channel": ticket.channel},
    )
    if created and ticket.channel in ASKED_ON:
        from quality.tasks import send_csat_question

        transaction.on_commit(partial(send_csat_question.enqueue, survey.pk))
    return survey


def question_text(survey: CsatSurvey) -> str:
    number = survey.ticket.number
    if survey.channel == Channel.EMAIL:  # answered on the linked page, not by reply
        return (
            f"Pengaduan {number} sudah kami selesaikan. Mohon dua jawaban singkat: apakah "
            "ditangani tepat waktu (1-5), dan apakah masalah Anda benar-benar selesai? "
            "Jika belum, pengaduan dibuka kembali.\n\n"
            f"Jawab lewat tautan ini: {survey_link(survey)}"
        )
    return (
        f"Pengaduan {number} sudah kami selesaikan. Mohon dua jawaban singkat:\n"
        "1) Apakah ditangani tepat waktu? Balas angka 1 (sangat terlambat) sampai 5 "
        "(tepat waktu).\n"
        "2) Apakah masalah Anda benar-benar selesai? Balas YA atau TIDAK.\n"
        "Contoh: 4 YA. Boleh tambahkan komentar setelahnya. Jika TIDAK, pengaduan dibuka "
        "kembali."
    )


def send_question(survey_id: int) -> bool:
    """Posts the question on the ticket's channel, once (the sent time is the guard)."""
    with transaction.atomic():
        survey = (
            CsatSurvey.objects.select_for_update()
            .select_related("ticket")
            .filter(pk=survey_id, sent_at__isnull=True, answered_at__isnull=True)
            .first()
        )
        if survey is None or survey.ticket.status != Status.RESOLVED:
            return False
        post_message(
            ticket=survey.ticket,
            body=question_text(survey),
            author_kind=AuthorKind.SYSTEM,
            channel=survey.channel,
        )
        CsatSurvey.objects.filter(pk=survey.pk).update(sent_at=timezone.now())
    return True


def survey_link(survey: CsatSurvey) -> str:
    token = signing.dumps({"s": survey.pk}, salt=SURVEY_SALT)
    return f"{settings.ADUAN_PUBLIC_URL.rstrip('/')}{reverse('csat', args=[token])}"


def survey_from_token(token: str) -> CsatSurvey | None:
    """The survey a signed link names, if the link is genuine and not too old."""
    try:
        data = signing.loads(token, salt=SURVEY_SALT, max_age=timedelta(days=SURVEY_LINK_DAYS))
    except signing.BadSignature:
        return None
    return CsatSurvey.objects.select_related("ticket").filter(pk=data.get("s")).first()


def parse_answer(text: str) -> tuple[int | None, bool | None, str] | None:
    """(score, solved, comment) from a chat reply, or None when it is not an answer."""
    found = _ANSWER.match(text.strip())
    if found is None:
        return None
    word = found["solved"] or found["alone"]
    comment = (found["comment"] or found["note"] or "").strip()
    if found["score"] and not word and comment:
        return None  # "5 hari belum datang": a message, not a score
    solved = None if word is None else word.lower() in YES
    score = int(found["score"]) if found["score"] else None
    return score, solved, comment


def answer_from_channel(ticket: Ticket, text: str, channel: str) -> Rating | None:
    """A citizen's chat message on a resolved (or since closed) ticket whose question is
    pending: their answer, recorded (the message itself stays in the conversation)."""
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        return None
    parsed = parse_answer(text) if _pending(ticket, channel).exists() else None
    if parsed is None:
        return None
    score, solved, comment = parsed
    return record_rating(
        ticket=ticket, score=score, solved=solved, comment=comment, channel=channel
    )


def awaiting_answer(citizen_id: int, channel: str, text: str) -> Ticket | None:
    """The citizen's closed ticket whose question, sent on `channel` within the answer
    window, `text` answers: a late "4 ya" belongs there, not in a new complaint."""
    if parse_answer(text) is None:
        return None
    since = timezone.now() - timedelta(days=SURVEY_LINK_DAYS)
    surveys = CsatSurvey.objects.filter(
        ticket__citizen_id=citizen_id,
        ticket__status=Status.CLOSED,
        channel=channel,
        sent_at__gte=since,
        answered_at__isnull=True,
    ).select_related("ticket")
    for survey in surveys.order_by("-sent_at")[:5]:
        if survey.resolution_round == survey.ticket.reopen_count:
            return survey.ticket
    return None


def _pending(ticket: Ticket, channel: str) -> Any:
    return CsatSurvey.objects.filter(  # asked on this channel, for this resolution
        ticket=ticket,
        resolution_round=ticket.reopen_count,
        channel=channel,
        sent_at__isnull=False,
        answered_at__isnull=True,
    )


def rating_received(rating: Rating) -> None:
    """Called by the ratings service: the survey is answered; a low score or "not
    solved" goes to the supervisors."""
    CsatSurvey.objects.filter(
        ticket=rating.ticket, resolution_round=rating.resolution_round
    ).update(answered_at=timezone.now())
    reasons = []
    if rating.score is not None and rating.score <= settings.ADUAN_CSAT_LOW_SCORE:
        reasons.append(ReviewReason.LOW_SCORE)
    if rating.solved is False:
        reasons.append(ReviewReason.NOT_SOLVED)
    Review.objects.bulk_create(
        [Review(ticket=rating.ticket, rating=rating, reason=r) for r in reasons],
        ignore_conflicts=True,
    )


def reopened_by_citizen(rating: Rating) -> None:
    """Called by the ratings service once "not solved" has reopened the ticket: its
    assignee is told after commit."""
    if rating.ticket.assignee_id:
        from quality.tasks import tell_assignee

        transaction.on_commit(partial(tell_assignee.enqueue, rating.pk))


def tell_assignee(rating_id: int) -> bool:
    """Mails the assignee that the citizen says the problem is not solved."""
    rating = Rating.objects.select_related("ticket__assignee").filter(pk=rating_id).first()
    assignee = rating.ticket.assignee if rating else None
    if rating is None or assignee is None or not assignee.email:
        return False
    ticket = rating.ticket
    send_mail(
        subject=f"[{ticket.number}] Dibuka kembali: warga menyatakan belum selesai",
        message=(
            f"Warga menyatakan masalah pada pengaduan {ticket.number} ({ticket.subject}) "
            f"belum selesai. Pengaduan dibuka kembali.\n\n"
            f"Skor ketepatan waktu: {rating.score or '-'}\nKomentar: {rating.comment or '-'}"
        ),
        from_email=None,
        recipient_list=[assignee.email],
    )
    return True


def close_review(review: Review, *, by: Any) -> None:
    if role_of(by) is not Role.SUPERVISOR:
        raise PermissionDenied(_("Supervisors close reviews."))
    Review.objects.filter(pk=review.pk, closed_at__isnull=True).update(
        closed_at=timezone.now(), closed_by=by
    )
