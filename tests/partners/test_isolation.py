"""RELIABILITY T-f, partners: a member of organisation A tries every partner-site page,
every agents'-admin page and every API endpoint on organisation B's tickets and consult
requests, on tickets never dispatched and on a ticket taken back from A — by id and by
number. Every attempt is 404, 405 or 409 (the admin: the login page), no B row changes,
and no response anywhere carries one of B's canaries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from complaints import services as complaints
from complaints.choices import AuthorKind
from complaints.models import Attachment, Message, Ticket
from partners import services as partners
from partners.models import Assignment, ConsultRequest, Organisation
from tests.escalation.policies import around_the_clock
from tests.partners.conftest import triaged
from tests.routes import ADMIN_MODEL_PAGES, ADMIN_MODELS

pytestmark = pytest.mark.django_db

CANARY = f"KENARI-{uuid.uuid4().hex[:12]}"  # in everything of B's
AFTER = f"SESUDAH-{uuid.uuid4().hex[:12]}"  # said after A lost the ticket
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@dataclass
class World:
    theirs: Ticket  # with B now
    nobodys: Ticket  # never dispatched
    taken_back: Ticket  # A had it; the agents took it back and went on
    ours: Ticket  # with A now (the control)
    consult: ConsultRequest  # asked of B
    attachment: Attachment  # on B's ticket
    answers: list[tuple[str, str, int, bytes]] = field(default_factory=list)


def _b_ticket(agent: Any, subject: str) -> Ticket:
    ticket = triaged(agent, subject=f"{subject} {CANARY}")
    citizen = ticket.citizen
    citizen.name, citizen.email = f"Warga {CANARY}", f"{CANARY.lower()}.{subject[:4].lower()}@x.id"
    citizen.save()
    complaints.post_message(
        ticket=ticket,
        body=f"Catatan dalam {CANARY}",
        author_kind=AuthorKind.AGENT,
        by=agent,
        is_internal=True,
    )
    return ticket


@pytest.fixture
def world(
    agent: Any,
    partner_org: Organisation,
    partner_user: Any,
    other_org: Organisation,
    other_partner_user: Any,
    citizen_user: Any,
) -> World:
    around_the_clock()
    theirs = _b_ticket(agent, "Milik B")
    message = complaints.post_message(
        ticket=theirs,
        body=f"Foto resep {CANARY}",
        author_kind=AuthorKind.CITIZEN,
        attachments=[complaints.NewAttachment(f"resep-{CANARY}.png", PNG, "image/png")],
    )
    partners.dispatch(ticket=theirs, organisation=other_org, by=agent, reason=f"Ke B {CANARY}")
    partners.accept(ticket=theirs, by=other_partner_user)
    partners.post_update(ticket=theirs, by=other_partner_user, body=f"Update B {CANARY}")
    nobodys = _b_ticket(agent, "Belum dikirim")
    taken_back = triaged(agent, subject="Pernah di A")
    partners.dispatch(ticket=taken_back, organisation=partner_org, by=agent, reason="Ke A.")
    partners.post_update(ticket=taken_back, by=partner_user, body="A sedang menyiapkan.")
    complaints.transition_ticket(ticket=taken_back, transition="take_back", by=agent)
    complaints.post_message(
        ticket=taken_back, body=f"Balasan kemudian {AFTER}", author_kind=AuthorKind.AGENT, by=agent
    )
    ours = triaged(agent, subject="Milik A")
    partners.dispatch(ticket=ours, organisation=partner_org, by=agent, reason="Ke A.")
    consult = partners.ask(
        ticket=theirs,
        organisation=other_org,
        by=agent,
        question=f"Pertanyaan {CANARY}",
        excerpt=f"Kutipan {CANARY}",
    )
    return World(theirs, nobodys, taken_back, ours, consult, message.attachments.get())


def snapshot(world: World) -> list[Any]:
    """B's rows as they stand: any change to them by A is a failure."""
    tickets = Ticket.objects.filter(pk__in=[world.theirs.pk, world.nobodys.pk, world.taken_back.pk])
    return [
        sorted(tickets.values_list("pk", "status", "version", "partner_id", "updated_at")),
        sorted(Message.objects.filter(ticket__in=tickets).values_list("pk", "body", "is_internal")),
        sorted(Assignment.objects.values_list("pk", "accepted_at", "updates", "ended_at")),
        sorted(ConsultRequest.objects.values_list("pk", "state", "answer")),
    ]


def api_attempts(world: World) -> Iterator[tuple[str, str, set[int]]]:
    """(method, path, statuses allowed) on the partner and citizen APIs."""
    for ticket in (world.theirs, world.nobodys):
        for number in (ticket.number, ticket.number.lower()):
            base = f"/api/v1/partner/tickets/{number}/"
            yield "get", base, {404}
            for method in ("put", "patch", "delete"):
                yield method, base, {404, 405}
            for action in ("accept/", "updates/", "done/", "return/"):
                yield "post", base + action, {404}
            citizen = f"/api/v1/tickets/{number}/"
            yield "get", citizen, {404}
            yield "get", f"{citizen}attachments/{world.attachment.pk}/", {404}
            for action in ("messages/", "reopen/", "rating/"):
                yield "post", citizen + action, {404}
    base = f"/api/v1/partner/tickets/{world.taken_back.number}/"
    yield "get", base, {200}  # read-only, up to when it left A
    for action in ("accept/", "updates/", "done/", "return/"):
        yield "post", base + action, {409}
    yield "get", f"/api/v1/partner/consults/{world.consult.pk}/", {404}
    yield "post", f"/api/v1/partner/consults/{world.consult.pk}/answer/", {404}
    for listing in (
        "/api/v1/partner/tickets/?page_size=100",
        "/api/v1/partner/consults/?page_size=100",
        "/api/v1/tickets/?page_size=100",
    ):
        yield "get", listing, {200}


def site_attempts(world: World) -> Iterator[tuple[str, str, set[int]]]:
    """(method, path, statuses allowed) on the partner site and the agents' admin."""
    for ticket in (world.theirs, world.nobodys):
        base = f"/partner/complaints/ticket/{ticket.pk}/"
        for page in ("change/", "history/", "delete/"):
            yield "get", base + page, {404}
            yield "post", base + page, {404}
        for action in ("accept", "update", "done", "return"):
            yield "post", f"{base}act/{action}/", {404}
    base = f"/partner/complaints/ticket/{world.taken_back.pk}/"
    yield "get", base + "change/", {200}
    yield "get", base + "history/", {404}
    for action in ("accept", "update", "done", "return"):
        yield "post", f"{base}act/{action}/", {409}
    consult = f"/partner/partners/consultrequest/{world.consult.pk}/"
    for page in ("change/", "history/", "delete/", "answer/"):
        yield "post" if page == "answer/" else "get", consult + page, {404}
    for page in ("/partner/complaints/ticket/add/", "/partner/partners/consultrequest/add/"):
        yield "get", page, {403}
    yield "get", f"/partner/r/1/{world.theirs.pk}/", {404}
    yield "get", "/partner/autocomplete/?app_label=complaints&model_name=ticket", {404}
    for listing in (
        "/partner/",
        "/partner/complaints/",
        "/partner/complaints/ticket/",
        f"/partner/complaints/ticket/?q={CANARY}",
        f"/partner/complaints/ticket/?q={world.theirs.number}",
        "/partner/partners/consultrequest/",
        f"/partner/partners/consultrequest/?q={CANARY}",
    ):
        yield "get", listing, {200}
    for model in ADMIN_MODELS:  # the agents' admin: not theirs at all
        for page in ADMIN_MODEL_PAGES:
            path = f"/admin/{model}/{page}".replace("<path:object_id>", str(world.theirs.pk))
            yield "get", path, {302}
    for extra in ("transition/resolve/", "assign-to-me/"):
        yield "post", f"/admin/complaints/ticket/{world.theirs.pk}/{extra}", {302}
    yield "get", f"/admin/complaints/ticket/{world.theirs.pk}/live/", {302}
    yield "get", "/admin/partners/organisation/performance/", {302}
    yield "get", f"/admin/autocomplete/?term={CANARY}", {302}


def test_a_partner_of_another_organisation_gets_nothing(world: World, partner_user: Any) -> None:
    before = snapshot(world)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {complaints.api_token_for(partner_user)}")
    site = Client()
    site.force_login(partner_user)
    attempts = [(api, *a) for a in api_attempts(world)] + [(site, *a) for a in site_attempts(world)]
    wrong, leaks = [], []
    body = {"body": "x", "summary": "x", "reason": "x", "answer": "x", "text": "x", "score": 5}
    for client, method, path, allowed in attempts:
        call = getattr(client, method)
        answer = (
            call(path, body, format="json")
            if client is api and method != "get"
            else (call(path, body) if method != "get" else call(path))
        )
        if answer.status_code not in allowed:
            wrong.append((method, path, answer.status_code))
        if answer.status_code == 302 and path.startswith("/admin/"):
            assert answer["Location"].startswith("/admin/login/"), path
        content = b"".join(answer.streaming_content) if answer.streaming else answer.content
        for echo in (f'value="{CANARY}"', f"q={CANARY}"):  # a search's own term, echoed
            content = content.replace(echo.encode(), b"")
        if CANARY.encode() in content or AFTER.encode() in content:
            leaks.append((method, path))
    assert len(attempts) > 200
    assert wrong == []
    assert leaks == []
    assert snapshot(world) == before


def test_the_control_works_and_the_past_stays_as_it_was(world: World, partner_user: Any) -> None:
    """The same member sees and acts on its own ticket; of the one taken back, only what
    was said while A had it."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {complaints.api_token_for(partner_user)}")
    listed = {t["number"] for t in api.get("/api/v1/partner/tickets/").json()["results"]}
    assert listed == {world.ours.number, world.taken_back.number}
    past = api.get(f"/api/v1/partner/tickets/{world.taken_back.number}/").json()
    assert "A sedang menyiapkan." in str(past) and AFTER not in str(past)
    assert api.post(f"/api/v1/partner/tickets/{world.ours.number}/accept/").status_code == 200


def test_other_roles_are_kept_out_of_the_partner_side(
    world: World, agent: Any, citizen_user: Any
) -> None:
    for user in (agent, citizen_user):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {complaints.api_token_for(user)}")
        assert api.get("/api/v1/partner/tickets/").status_code == 403
        assert api.get(f"/api/v1/partner/tickets/{world.ours.number}/").status_code == 403
        site = Client()
        site.force_login(user)
        assert site.get(f"/partner/complaints/ticket/{world.ours.pk}/change/").status_code == 302
    assert APIClient().get("/api/v1/partner/consults/").status_code == 401
