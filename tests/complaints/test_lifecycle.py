"""The lifecycle exactly as SPEC: every allowed and every forbidden transition."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_fsm import TransitionNotAllowed

from complaints.choices import CITIZEN_LABELS, EventKind, Status
from complaints.exceptions import StaleTicket
from complaints.models import Ticket, TicketEvent
from complaints.services import transition_ticket
from tests.factories import OrganisationFactory, TicketFactory, UserFactory

OPEN = ["new", "triaged", "in_progress", "waiting_citizen", "with_partner"]
# SPEC, "Tickets → States", written out by hand: (from, transition) -> to.
ALLOWED: dict[tuple[str, str], str] = {
    ("new", "triage"): "triaged",
    ("triaged", "start"): "in_progress",
    ("in_progress", "wait_for_citizen"): "waiting_citizen",
    ("waiting_citizen", "resume"): "in_progress",
    ("triaged", "dispatch"): "with_partner",
    ("in_progress", "dispatch"): "with_partner",
    ("with_partner", "take_back"): "in_progress",
    ("triaged", "resolve"): "resolved",
    ("in_progress", "resolve"): "resolved",
    ("with_partner", "resolve"): "resolved",
    ("resolved", "close"): "closed",
    ("resolved", "reopen"): "in_progress",
    ("new", "reject"): "rejected",
    ("triaged", "reject"): "rejected",
    ("in_progress", "reject"): "rejected",
    **{(state, "merge"): "merged" for state in OPEN},
}
STATES = [s.value for s in Status]
TRANSITIONS = sorted({name for _, name in ALLOWED})
REASON_REQUIRED = {"wait_for_citizen", "dispatch", "resolve", "reject", "merge"}


def ticket_in(state: str, **kwargs: Any) -> Ticket:
    if state == "with_partner":
        kwargs.setdefault("partner", OrganisationFactory())
    return TicketFactory(status=state, **kwargs)


def arguments(name: str) -> dict[str, Any]:
    args: dict[str, Any] = {"reason": "Alasan untuk warga", "note": "catatan internal"}
    if name == "dispatch":
        args["partner"] = OrganisationFactory()
    if name == "merge":
        args["into"] = TicketFactory(status="in_progress")
    return args


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target", "name"), [(f, t, n) for (f, n), t in ALLOWED.items()])
def test_every_allowed_transition_moves_the_ticket_and_records_an_event(
    supervisor: Any, source: str, target: str, name: str
) -> None:
    ticket = ticket_in(source)

    result = transition_ticket(ticket=ticket, transition=name, by=supervisor, **arguments(name))

    stored = Ticket.objects.get(pk=ticket.pk)
    assert (result.status, stored.status) == (target, target)
    assert stored.version == 2
    event = stored.events.get()
    assert (event.from_status, event.to_status, event.actor) == (source, target, supervisor)
    assert event.public_reason == "Alasan untuk warga"
    assert event.internal_note == "catatan internal"
    assert event.actor_role == "supervisor"
    assert event.created_at is not None


FORBIDDEN = [(s, n) for s in STATES for n in TRANSITIONS if (s, n) not in ALLOWED]


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "name"), FORBIDDEN)
def test_every_forbidden_transition_is_refused_and_changes_nothing(
    supervisor: Any, source: str, name: str
) -> None:
    ticket = ticket_in(source)

    with pytest.raises(TransitionNotAllowed):
        transition_ticket(ticket=ticket, transition=name, by=supervisor, **arguments(name))

    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.status, stored.version) == (source, 1)
    assert not TicketEvent.objects.filter(ticket=ticket).exists()


def test_the_table_covers_every_state_and_transition() -> None:
    assert len(ALLOWED) + len(FORBIDDEN) == len(STATES) * len(TRANSITIONS)
    assert {n for _, n in ALLOWED} == set(TRANSITIONS)
    assert {f for f, _ in ALLOWED} | {"closed", "rejected", "merged"} == set(STATES)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(REASON_REQUIRED))
def test_a_missing_citizen_facing_reason_is_refused(supervisor: Any, name: str) -> None:
    source = next(f for (f, n) in ALLOWED if n == name)
    ticket = ticket_in(source)
    args = arguments(name) | {"reason": "   "}

    with pytest.raises(ValidationError) as error:
        transition_ticket(ticket=ticket, transition=name, by=supervisor, **args)

    assert "reason" in error.value.message_dict
    assert Ticket.objects.get(pk=ticket.pk).status == source
    assert not TicketEvent.objects.filter(ticket=ticket).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["triage", "start", "resume", "take_back", "close", "reopen"])
def test_transitions_without_a_required_reason_go_through_without_one(
    supervisor: Any, name: str
) -> None:
    source = next(f for (f, n) in ALLOWED if n == name)
    ticket = ticket_in(source)

    transition_ticket(ticket=ticket, transition=name, by=supervisor)

    assert Ticket.objects.get(pk=ticket.pk).status == ALLOWED[(source, name)]


@pytest.mark.django_db
def test_dispatch_needs_an_active_partner_and_merge_another_open_ticket(supervisor: Any) -> None:
    ticket = ticket_in("in_progress")
    closed_partner = OrganisationFactory(is_active=False)
    with pytest.raises(ValidationError, match="partner"):
        transition_ticket(
            ticket=ticket, transition="dispatch", by=supervisor, reason="x", partner=closed_partner
        )
    with pytest.raises(ValidationError, match="another ticket"):
        transition_ticket(ticket=ticket, transition="merge", by=supervisor, reason="x", into=ticket)
    with pytest.raises(ValidationError, match="open ticket"):
        transition_ticket(
            ticket=ticket,
            transition="merge",
            by=supervisor,
            reason="x",
            into=ticket_in("closed"),
        )
    assert Ticket.objects.get(pk=ticket.pk).status == "in_progress"
    assert not TicketEvent.objects.filter(ticket=ticket).exists()


@pytest.mark.django_db
def test_merge_and_dispatch_record_where_the_ticket_went(supervisor: Any) -> None:
    partner = OrganisationFactory(slug="apotek-sehat")
    dispatched = transition_ticket(
        ticket=ticket_in("in_progress"),
        transition="dispatch",
        by=supervisor,
        reason="Obat disiapkan apotek",
        partner=partner,
    )
    target = ticket_in("new")
    merged = transition_ticket(
        ticket=ticket_in("new"), transition="merge", by=supervisor, reason="Sama", into=target
    )

    assert dispatched.partner == partner
    assert dispatched.events.get().data == {"partner": "apotek-sehat"}
    assert merged.merged_into == target
    assert merged.events.get().data == {"into": target.number}


@pytest.mark.django_db
def test_a_stale_version_is_refused_and_changes_nothing(agent: Any) -> None:
    ticket = ticket_in("in_progress")
    transition_ticket(ticket=ticket, transition="wait_for_citizen", by=agent, reason="Data?")

    with pytest.raises(StaleTicket):
        transition_ticket(ticket=ticket, transition="resume", by=agent, expected_version=1)

    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.status, stored.version) == ("waiting_citizen", 2)
    assert stored.events.count() == 1


@pytest.mark.django_db
def test_the_status_field_cannot_be_set_directly() -> None:
    ticket = ticket_in("new")
    with pytest.raises(AttributeError):
        ticket.status = "closed"  # type: ignore[assignment]


@pytest.mark.django_db
def test_an_unknown_transition_name_is_a_validation_error(agent: Any) -> None:
    ticket = ticket_in("new")
    with pytest.raises(ValidationError):
        transition_ticket(ticket=ticket, transition="delete", by=agent)
    with pytest.raises(ValidationError):
        transition_ticket(ticket=ticket, transition="save", by=agent)


# --- Who may do what ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_citizen_may_reopen_their_own_resolved_ticket_but_not_resolve_or_reopen_others(
    citizen_user: Any,
) -> None:
    own = ticket_in("resolved", citizen=citizen_user.citizen)
    others = ticket_in("resolved")
    working = ticket_in("in_progress", citizen=citizen_user.citizen)

    transition_ticket(ticket=own, transition="reopen", by=citizen_user, reason="Belum datang")
    with pytest.raises(PermissionDenied):
        transition_ticket(ticket=others, transition="reopen", by=citizen_user)
    with pytest.raises(PermissionDenied):
        transition_ticket(ticket=working, transition="resolve", by=citizen_user, reason="x")

    assert Ticket.objects.get(pk=own.pk).status == "in_progress"
    assert Ticket.objects.get(pk=own.pk).reopen_count == 1
    assert Ticket.objects.get(pk=others.pk).status == "resolved"
    assert Ticket.objects.get(pk=working.pk).status == "in_progress"


@pytest.mark.django_db
def test_a_partner_may_hand_back_only_its_own_organisations_ticket(
    partner_user: Any, partner_org: Any
) -> None:
    ours = ticket_in("with_partner", partner=partner_org)
    theirs = ticket_in("with_partner")

    with pytest.raises(PermissionDenied):
        transition_ticket(ticket=theirs, transition="take_back", by=partner_user)
    with pytest.raises(PermissionDenied):
        transition_ticket(ticket=ours, transition="resolve", by=partner_user, reason="x")
    transition_ticket(ticket=ours, transition="take_back", by=partner_user, reason="Stok habis")

    assert Ticket.objects.get(pk=ours.pk).status == "in_progress"
    assert Ticket.objects.get(pk=ours.pk).partner is None
    assert Ticket.objects.get(pk=theirs.pk).status == "with_partner"


@pytest.mark.django_db
def test_users_without_a_role_may_do_nothing() -> None:
    nobody = UserFactory(is_staff=True)  # staff flag alone grants no role
    ticket = ticket_in("new")
    for name in ("triage", "reject", "merge"):
        with pytest.raises(PermissionDenied):
            transition_ticket(ticket=ticket, transition=name, by=nobody, **arguments(name))
    assert Ticket.objects.get(pk=ticket.pk).status == "new"


@pytest.mark.django_db
def test_the_product_itself_may_close_resolved_tickets_but_not_reject(
    django_capture_on_commit_callbacks: Any,
) -> None:
    resolved, fresh = ticket_in("resolved"), ticket_in("new")
    transition_ticket(ticket=resolved, transition="close", by=None)
    with pytest.raises(PermissionDenied):
        transition_ticket(ticket=fresh, transition="reject", by=None, reason="x")
    event = Ticket.objects.get(pk=resolved.pk).events.get()
    assert (event.kind, event.actor, event.actor_role) == (EventKind.CLOSED, None, "system")


def test_every_state_has_an_indonesian_and_an_english_citizen_label() -> None:
    assert set(CITIZEN_LABELS) == set(STATES)
    for language in ("id", "en"):
        labels = [CITIZEN_LABELS[s][language] for s in STATES]
        assert all(labels) and len(set(labels)) == len(labels)
    assert CITIZEN_LABELS["waiting_citizen"]["id"] != CITIZEN_LABELS["waiting_citizen"]["en"]
