"""Partners for the partner tests: pharmacies in one area, one closed for Eid; tickets
from citizens with a login, ready to dispatch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from complaints import services as complaints
from complaints.choices import Channel
from complaints.models import Ticket
from escalation.models import BusinessCalendar, Closure
from partners.models import Organisation, ServiceArea
from tests.factories import CitizenFactory, MembershipFactory, OrganisationFactory, UserFactory


@pytest.fixture
def depok(db: None) -> ServiceArea:
    return ServiceArea.objects.create(code="depok", name="Depok")


@pytest.fixture
def eid_closure(partner_org: Organisation, depok: ServiceArea) -> Closure:
    """Apotek A (in Depok) is shut for Eid from an hour ago for three days."""
    calendar = BusinessCalendar.objects.create(
        slug="apotek-a", name="Apotek A", always_open=True, country=""
    )
    partner_org.calendar = calendar
    partner_org.save()
    partner_org.service_areas.add(depok)
    now = timezone.now()
    return Closure.objects.create(
        calendar=calendar,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=3),
        reason="Tutup Idul Fitri",
    )


@pytest.fixture
def open_pharmacy(depok: ServiceArea) -> Organisation:
    pharmacy = OrganisationFactory(slug="apotek-b", name="Apotek B")
    pharmacy.service_areas.add(depok)
    return pharmacy


@pytest.fixture
def other_org(db: None) -> Organisation:
    return OrganisationFactory(slug="apotek-z", name="Apotek Z")


@pytest.fixture
def other_partner_user(other_org: Organisation) -> Any:
    user = UserFactory(username="partner-z")
    MembershipFactory(user=user, organisation=other_org)
    return user


def triaged(agent: Any, citizen_user: Any = None, subject: str = "Obat belum datang") -> Ticket:
    citizen = citizen_user.citizen if citizen_user is not None else CitizenFactory()
    ticket = complaints.open_ticket(
        citizen=citizen,
        channel=Channel.API,
        subject=subject,
        body="Resep sudah seminggu, obat belum dikirim ke Jl. Melati 5.",
        address="Jl. Melati 5, Depok",
    )
    return complaints.transition_ticket(ticket=ticket, transition="triage", by=agent)
