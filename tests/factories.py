"""One factory per model, minimal defaults; state through keyword arguments."""

from __future__ import annotations

import factory
from django.contrib.auth.models import User
from django.utils import timezone
from factory.django import DjangoModelFactory

from complaints.choices import Channel
from complaints.models import Category, Citizen, Message, Ticket
from complaints.numbers import generate_number
from partners.models import Membership, Organisation

PASSWORD = "correct horse battery staple"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user-{n}")
    password = factory.django.Password(PASSWORD)


class CitizenFactory(DjangoModelFactory[Citizen]):
    class Meta:
        model = Citizen

    name = factory.Faker("name")


class CategoryFactory(DjangoModelFactory[Category]):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"category-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())


class OrganisationFactory(DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Partner {n}")
    slug = factory.Sequence(lambda n: f"partner-{n}")
    kind = "pharmacy"


class MembershipFactory(DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.SubFactory(UserFactory)


class TicketFactory(DjangoModelFactory[Ticket]):
    """A ticket in any state, written directly: for setting up a scene, not for behaviour."""

    class Meta:
        model = Ticket

    number = factory.LazyFunction(lambda: generate_number(timezone.now()))
    subject = factory.Faker("sentence")
    citizen = factory.SubFactory(CitizenFactory)
    channel = Channel.WHATSAPP


class MessageFactory(DjangoModelFactory[Message]):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    direction = "inbound"
    channel = Channel.WHATSAPP
    author_kind = "citizen"
    body = factory.Faker("sentence")
