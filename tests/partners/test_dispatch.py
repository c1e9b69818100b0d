"""Dispatch through the service layer: a closed partner is warned about with its reason,
its reopening and open alternatives; the citizen reads "closed until …"; re-dispatch and
returns keep the whole history; the partner's own actions, each for its own tickets."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from complaints import services as complaints
from complaints.choices import AuthorKind, EventKind, Status
from complaints.models import TicketEvent
from escalation.models import BusinessCalendar, Clock, ClockKind, Closure
from partners import services as partners
from partners.models import Assignment, Organisation, Outcome
from tests.escalation.policies import around_the_clock
from tests.factories import OrganisationFactory
from tests.partners.conftest import triaged

pytestmark = pytest.mark.django_db
JAKARTA = ZoneInfo("Asia/Jakarta")


def test_a_closed_partner_is_named_with_its_reason_reopening_and_open_alternatives(
    agent: Any, partner_org: Organisation, eid_closure: Closure, open_pharmacy: Organisation
) -> None:
    elsewhere = OrganisationFactory(slug="apotek-jauh", name="Apotek Jauh")  # no shared area
    hospital = OrganisationFactory(slug="rs", name="RS Depok", kind="hospital")
    hospital.service_areas.add(*partner_org.service_areas.all())
    ticket = triaged(agent)
    check = partners.check_dispatch(ticket, partner_org)
    assert not check.ok
    assert check.now.closed_until == eid_closure.ends_at
    assert check.now.reason == "Tutup Idul Fitri"
    assert "Tutup Idul Fitri" in check.warning and "Apotek A" in check.warning
    assert check.alternatives == [open_pharmacy]
    assert elsewhere not in check.alternatives and hospital not in check.alternatives


def test_a_partner_closing_within_the_window_is_warned_about(
    agent: Any, partner_org: Organisation, eid_closure: Closure
) -> None:
    eid_closure.starts_at = timezone.now() + timedelta(hours=2)  # within a day's window
    eid_closure.save()
    check = partners.check_dispatch(triaged(agent), partner_org)
    assert check.now.is_open and check.closing == eid_closure and not check.ok
    assert "Tutup Idul Fitri" in check.warning


def test_public_holidays_close_a_partner_until_it_reopens(
    agent: Any, partner_org: Organisation
) -> None:
    partner_org.calendar = BusinessCalendar.objects.create(
        slug="apotek-mon-sat",
        name="Senin-Sabtu",
        weekly_hours={str(day): [["08:00", "21:00"]] for day in range(1, 7)},
    )
    partner_org.save()
    eid = datetime(2027, 3, 10, 10, 0, tzinfo=JAKARTA)
    now = partners.availability(partner_org, eid)
    assert not now.is_open
    assert now.reason == "Eid al-Fitr (estimated)"
    # Eid, its second day and the collective leave on Friday: open again Saturday 08:00.
    assert now.closed_until == datetime(2027, 3, 13, 8, 0, tzinfo=JAKARTA)
    evening = partners.availability(partner_org, datetime(2027, 3, 16, 22, 0, tzinfo=JAKARTA))
    assert not evening.is_open and evening.reason == "outside opening hours"
    assert partners.availability(partner_org, datetime(2027, 3, 16, 9, 0, tzinfo=JAKARTA)).is_open


def test_dispatch_to_a_closed_partner_needs_the_agents_choice_and_the_citizen_is_told(
    agent: Any, partner_org: Organisation, eid_closure: Closure, citizen_user: Any
) -> None:
    ticket = triaged(agent, citizen_user)
    with pytest.raises(partners.PartnerClosed) as refused:
        partners.dispatch(ticket=ticket, organisation=partner_org, by=agent, reason="Ke apotek.")
    assert refused.value.check.now.reason == "Tutup Idul Fitri"
    ticket.refresh_from_db()
    assert ticket.status == Status.TRIAGED and not Assignment.objects.exists()

    partners.dispatch(
        ticket=ticket,
        organisation=partner_org,
        by=agent,
        reason="Apotek menyiapkan obat Anda.",
        despite_closure=True,
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.WITH_PARTNER and ticket.partner == partner_org
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {complaints.api_token_for(citizen_user)}")
    detail = api.get(f"/api/v1/tickets/{ticket.number}/").json()
    assert detail["partner"] == "Apotek A"
    assert detail["partner_closed"]["reason"] == "Tutup Idul Fitri"
    assert detail["partner_closed"]["until"] is not None
    dispatched = [e for e in detail["timeline"] if e.get("status") == "with_partner"][-1]
    assert "Tutup Idul Fitri" in dispatched["reason"]
    assert "Apotek menyiapkan obat Anda." in dispatched["reason"]


def test_redispatch_and_return_keep_the_whole_history(
    agent: Any,
    partner_org: Organisation,
    partner_user: Any,
    open_pharmacy: Organisation,
) -> None:
    ticket = triaged(agent)
    partners.dispatch(ticket=ticket, organisation=partner_org, by=agent, reason="Ke apotek A.")
    partners.dispatch(ticket=ticket, organisation=open_pharmacy, by=agent, reason="Ke apotek B.")
    complaints.transition_ticket(ticket=ticket, transition="take_back", by=agent)
    partners.dispatch(ticket=ticket, organisation=partner_org, by=agent, reason="Lagi ke A.")
    partners.return_ticket(ticket=ticket, by=partner_user, reason="Stok habis.")
    stays = list(Assignment.objects.filter(ticket=ticket).order_by("dispatched_at", "pk"))
    assert [(a.organisation.slug, a.outcome) for a in stays] == [
        ("apotek-a", Outcome.TAKEN_BACK),
        ("apotek-b", Outcome.TAKEN_BACK),
        ("apotek-a", Outcome.RETURNED),
    ]
    assert stays[-1].summary == "Stok habis." and all(a.ended_at for a in stays)
    kinds = list(
        TicketEvent.objects.filter(ticket=ticket).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds.count(EventKind.DISPATCHED) == 3 and kinds.count(EventKind.RETURNED) == 3


def test_the_partners_actions_accept_update_and_done(
    agent: Any, partner_org: Organisation, partner_user: Any
) -> None:
    around_the_clock()
    ticket = triaged(agent)
    partners.dispatch(ticket=ticket, organisation=partner_org, by=agent, reason="Ke apotek.")
    first = partners.accept(ticket=ticket, by=partner_user)
    again = partners.accept(ticket=ticket, by=partner_user)
    assert first.accepted_at == again.accepted_at is not None
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.PARTNER_ACCEPTED).count() == 1
    public = partners.post_update(ticket=ticket, by=partner_user, body="Obat dikirim sore ini.")
    note = partners.post_update(
        ticket=ticket, by=partner_user, body="Kurir: Pak Joko.", internal=True
    )
    assert (public.author_kind, public.is_internal) == (AuthorKind.PARTNER, False)
    assert note.is_internal
    assignment = Assignment.objects.get(ticket=ticket)
    assert assignment.updates == 2 and assignment.last_update_at == note.created_at
    clock = Clock.objects.get(ticket=ticket, kind=ClockKind.PARTNER_UPDATE)
    assert clock.started_at == note.created_at  # each update starts the window again
    with pytest.raises(ValidationError):
        partners.mark_done(ticket=ticket, by=partner_user, summary="  ")
    partners.mark_done(ticket=ticket, by=partner_user, summary="Obat sudah diterima warga.")
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS and ticket.partner is None
    assignment.refresh_from_db()
    assert (assignment.outcome, assignment.summary) == (Outcome.DONE, "Obat sudah diterima warga.")
    with pytest.raises(PermissionDenied):  # no longer theirs to act on
        partners.post_update(ticket=ticket, by=partner_user, body="Satu lagi.")


def test_another_organisation_cannot_act_on_the_ticket(
    agent: Any, partner_org: Organisation, other_partner_user: Any
) -> None:
    ticket = triaged(agent)
    partners.dispatch(ticket=ticket, organisation=partner_org, by=agent, reason="Ke apotek.")
    for act in (
        lambda: partners.accept(ticket=ticket, by=other_partner_user),
        lambda: partners.post_update(ticket=ticket, by=other_partner_user, body="Halo"),
        lambda: partners.mark_done(ticket=ticket, by=other_partner_user, summary="Selesai"),
        lambda: partners.return_ticket(ticket=ticket, by=other_partner_user, reason="Bukan"),
    ):
        with pytest.raises(PermissionDenied):
            act()
    assert not partners.tickets_of(other_partner_user).exists()
    assert not partners.tickets_of(agent).exists()  # the partner lists are partners' only
    assignment = Assignment.objects.get(ticket=ticket)
    assert assignment.accepted_at is None and assignment.updates == 0


def test_the_agents_admin_warns_before_dispatching_to_a_closed_partner(
    agent: Any, partner_org: Organisation, eid_closure: Closure, open_pharmacy: Organisation
) -> None:
    from django.test import Client

    ticket = triaged(agent)
    client = Client()
    client.force_login(agent)
    url = f"/admin/complaints/ticket/{ticket.pk}/transition/dispatch/"
    form = {"version": ticket.version, "partner": partner_org.pk, "reason": "Ke apotek."}
    warned = client.post(url, form, follow=True).content.decode()
    assert "Tutup Idul Fitri" in warned and "Apotek B" in warned
    ticket.refresh_from_db()
    assert ticket.status == Status.TRIAGED
    client.post(url, form | {"despite_closure": "on"})
    ticket.refresh_from_db()
    assert ticket.status == Status.WITH_PARTNER and ticket.partner == partner_org


def test_the_partner_is_told_by_email(
    agent: Any,
    partner_org: Organisation,
    partner_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.core import mail as outbox

    partner_user.email = "apoteker@apotek-a.example"
    partner_user.save()
    ticket = triaged(agent)
    with django_capture_on_commit_callbacks(execute=True):
        partners.dispatch(ticket=ticket, organisation=partner_org, by=agent, reason="Antar obat.")
    assert [m.to for m in outbox.outbox] == [["apoteker@apotek-a.example"]]  # no own address
    assert ticket.number in outbox.outbox[0].subject and "Antar obat." in outbox.outbox[0].body
