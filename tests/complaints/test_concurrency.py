"""T-e: concurrent agents on one ticket give exactly one winner, no invalid state, no lost
update; a stateful model check of the lifecycle with roles (Hypothesis)."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_fsm import TransitionNotAllowed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from complaints import services
from complaints.choices import AuthorKind, Status
from complaints.exceptions import CONFLICT_ERRORS
from complaints.models import Message, Ticket, TicketEvent
from tests.complaints.test_lifecycle import ALLOWED, REASON_REQUIRED, TRANSITIONS
from tests.factories import CitizenFactory, TicketFactory
from tests.results import write_result

FULL = bool(os.environ.get("RELIABILITY_FULL"))
ROUNDS = 200


def race_actions(agents: tuple[User, User]) -> list[tuple[str, Callable[[Ticket], Any]]]:
    """Eight agents' actions on the same ticket at version 1, as T-e lists them."""
    x, y = agents
    v = {"expected_version": 1}
    return [
        (
            "resolve",
            lambda t: services.transition_ticket(
                ticket=t, transition="resolve", by=x, reason="Selesai", **v
            ),
        ),
        (
            "wait",
            lambda t: services.transition_ticket(
                ticket=t, transition="wait_for_citizen", by=y, reason="Mohon data", **v
            ),
        ),
        ("assign-x", lambda t: services.assign_ticket(ticket=t, assignee=x, by=x, **v)),
        ("assign-y", lambda t: services.assign_ticket(ticket=t, assignee=y, by=y, **v)),
        ("close", lambda t: services.transition_ticket(ticket=t, transition="close", by=x, **v)),
        ("reopen", lambda t: services.transition_ticket(ticket=t, transition="reopen", by=y, **v)),
        (
            "priority",
            lambda t: services.change_ticket_details(ticket=t, by=x, priority="urgent", **v),
        ),
        (
            "note",
            lambda t: services.post_message(
                ticket=t, body="catatan", author_kind=AuthorKind.AGENT, by=y, is_internal=True
            ),
        ),
    ]


WRITES = {"resolve", "wait", "assign-x", "assign-y", "priority"}
NEVER_WIN = {"close", "reopen"}  # not allowed from in_progress whatever happens


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_agents_at_once_give_exactly_one_winner_every_round(
    agent: User, other_agent: User
) -> None:
    actions = race_actions((agent, other_agent))
    citizen = CitizenFactory()
    outcomes: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        on_every_thread(pool, len(actions), _set_lock_timeout)
        for _ in range(ROUNDS):
            ticket = TicketFactory(status=Status.IN_PROGRESS, citizen=citizen)
            attempt = partial(_attempt, ticket=ticket, barrier=threading.Barrier(len(actions)))
            results = dict(pool.map(attempt, actions))
            winners = [
                name for name, result in results.items() if result == "ok" and name in WRITES
            ]
            assert len(winners) == 1, results
            assert results["note"] == "ok"
            assert all(results[name] == "conflict" for name in NEVER_WIN)
            assert all(results[n] == "conflict" for n in WRITES - set(winners)), results
            _assert_one_committed_write(ticket, winners[0])
            outcomes[winners[0]] += 1
        on_every_thread(pool, len(actions), _close_connection)
    assert sum(outcomes.values()) == ROUNDS
    write_result(
        "T-e-service-race",
        {"rounds": ROUNDS, "threads": len(actions), "winners": dict(outcomes), "errors": 0},
    )


def on_every_thread(pool: ThreadPoolExecutor, size: int, function: Callable[[], Any]) -> None:
    """Runs `function` once in each of the pool's `size` threads (a barrier keeps all busy)."""
    barrier = threading.Barrier(size)

    def run(_: int) -> None:
        barrier.wait()
        function()

    list(pool.map(run, range(size)))


def _close_connection() -> None:
    connection.close()  # looked up in the calling thread: each thread has its own


def _set_lock_timeout() -> None:
    with connection.cursor() as cursor:  # a lock wait over 1 s fails the round
        cursor.execute("SET lock_timeout = '1s'")


def _attempt(
    action: tuple[str, Callable[[Ticket], Any]], *, ticket: Ticket, barrier: Any
) -> tuple[str, str]:
    name, run = action
    barrier.wait()
    try:
        run(Ticket.objects.get(pk=ticket.pk))
    except CONFLICT_ERRORS:
        return name, "conflict"
    except Exception as exc:  # anything else is a defect: report it in the assertion
        return name, f"error: {exc!r}"
    return name, "ok"


def _assert_one_committed_write(ticket: Ticket, winner: str) -> None:
    stored = Ticket.objects.get(pk=ticket.pk)
    expected_status = {"resolve": "resolved", "wait": "waiting_citizen"}.get(winner, "in_progress")
    assert stored.status == expected_status
    assert stored.version == 2  # one committed write, none lost, none doubled
    assert TicketEvent.objects.filter(ticket=ticket).count() == 1
    assert Message.objects.filter(ticket=ticket, is_internal=True).count() == 1
    assert (stored.assignee is not None) == winner.startswith("assign")
    assert (stored.priority == "urgent") == (winner == "priority")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_agents_racing_in_the_admin_give_one_winner_and_clear_errors(
    agent: User, other_agent: User, supervisor: User
) -> None:
    rounds = 60 if FULL else 15
    people = [agent, other_agent, supervisor, agent]
    for _ in range(rounds):
        ticket = TicketFactory(status=Status.IN_PROGRESS)
        url = reverse("admin:complaints_ticket_transition", args=[ticket.pk, "resolve"])
        wait = reverse("admin:complaints_ticket_transition", args=[ticket.pk, "wait_for_citizen"])
        mine = reverse("admin:complaints_ticket_assign_to_me", args=[ticket.pk])
        change = reverse("admin:complaints_ticket_change", args=[ticket.pk])
        posts = [
            (url, {"version": 1, "reason": "Selesai"}),
            (wait, {"version": 1, "reason": "Mohon data"}),
            (mine, {"version": 1}),
            (change, _change_form(ticket, priority="critical")),
        ]
        barrier = threading.Barrier(len(posts))
        with ThreadPoolExecutor(max_workers=len(posts)) as pool:
            post = partial(_admin_post, barrier=barrier)
            codes = list(pool.map(post, posts, people))
        assert all(code == 302 for code in codes), codes
        stored = Ticket.objects.get(pk=ticket.pk)
        assert stored.version == 2
        # One winner; a ticket made critical by the winning change also escalates.
        events = TicketEvent.objects.filter(ticket=ticket)
        assert events.exclude(kind="escalated").count() == 1
        assert events.filter(kind="escalated").count() == (stored.priority == "critical")


def _change_form(ticket: Ticket, **changes: Any) -> dict[str, Any]:
    data = {"subject": ticket.subject, "category": "", "priority": ticket.priority, "version": 1}
    for prefix in ("messages", "events"):
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    return data | changes


def _admin_post(request: tuple[str, dict[str, Any]], user: User, *, barrier: Any) -> int:
    url, data = request
    client = Client()
    client.force_login(user)
    barrier.wait()
    try:
        return client.post(url, data).status_code
    finally:
        connection.close()


# --- Stateful model check ----------------------------------------------------------------

# Which roles may run which transitions (besides what the state allows).
ROLE_MAY: dict[str, set[str]] = {
    "agent": set(TRANSITIONS),
    "supervisor": set(TRANSITIONS),
    "system": {"triage", "resume", "close", "reopen"},
    "owner": {"reopen"},
    "partner": {"take_back"},
    "stranger": set(),
}


class LifecycleMachine(RuleBasedStateMachine):
    actors: dict[str, User | None]
    partner_org: Any

    def __init__(self) -> None:
        super().__init__()
        owner = self.actors["owner"]
        self.ticket = TicketFactory(citizen=owner.citizen)  # type: ignore[union-attr]
        self.status = "new"
        self.writes = 0

    @rule(
        name=st.sampled_from(TRANSITIONS),
        actor=st.sampled_from(sorted(ROLE_MAY)),
        with_reason=st.booleans(),
    )
    def attempt(self, name: str, actor: str, with_reason: bool) -> None:
        kwargs: dict[str, Any] = {"reason": "Alasan" if with_reason else ""}
        if name == "dispatch":
            kwargs["partner"] = self.partner_org
        if name == "merge":
            kwargs["into"] = TicketFactory(status="new")
        try:
            services.transition_ticket(
                ticket=self.ticket, transition=name, by=self.actors[actor], **kwargs
            )
        except TransitionNotAllowed:
            assert (self.status, name) not in ALLOWED
        except PermissionDenied:
            assert (self.status, name) in ALLOWED
            assert not self._role_may(actor, name)
        except ValidationError:
            assert name in REASON_REQUIRED and not with_reason
        else:
            assert (self.status, name) in ALLOWED and self._role_may(actor, name)
            assert with_reason or name not in REASON_REQUIRED
            self.status = ALLOWED[(self.status, name)]
            self.writes += 1

    def _role_may(self, actor: str, name: str) -> bool:
        if actor == "partner":  # only while the ticket is with the partner's organisation
            return name in ROLE_MAY[actor] and self.status == "with_partner"
        return name in ROLE_MAY[actor]

    @invariant()
    def the_stored_state_is_the_modelled_one(self) -> None:
        stored = Ticket.objects.get(pk=self.ticket.pk)
        assert stored.status == self.status
        assert stored.version == 1 + self.writes
        assert stored.escalation_level == 0

    @invariant()
    def the_history_replays_to_the_current_state(self) -> None:
        state = "new"
        for source, target in TicketEvent.objects.filter(ticket=self.ticket).values_list(
            "from_status", "to_status"
        ):
            assert (source, target) in {(f, t) for (f, _), t in ALLOWED.items()}
            assert source == state
            state = target
        assert state == self.status


@pytest.mark.django_db
def test_the_lifecycle_model_holds_for_any_sequence_of_actors_and_actions(
    agent: User, supervisor: User, citizen_user: User, partner_user: User, partner_org: Any
) -> None:
    from tests.factories import UserFactory

    LifecycleMachine.actors = {
        "agent": agent,
        "supervisor": supervisor,
        "system": None,
        "owner": citizen_user,
        "partner": partner_user,
        "stranger": UserFactory(username="stranger"),
    }
    LifecycleMachine.partner_org = partner_org
    examples, steps = (500, 50) if FULL else (60, 30)
    run_state_machine_as_test(
        LifecycleMachine,
        settings=hypothesis_settings(
            max_examples=examples, stateful_step_count=steps, deadline=None
        ),
    )
