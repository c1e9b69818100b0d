"""Who is acting: the role of a user decides which transitions and tickets are theirs."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


AGENTS_GROUP = "Agents"
SUPERVISORS_GROUP = "Supervisors"


class Role(StrEnum):
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    PARTNER = "partner"
    CITIZEN = "citizen"
    SYSTEM = "system"  # no user: the product itself (webhooks, sweeps, automations)
    NONE = "none"  # authenticated but with no role: sees and does nothing


STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})


def role_of(user: AbstractBaseUser | AnonymousUser | None) -> Role:
    """The user's role, computed once per user object (deny by default)."""
    if user is None:
        return Role.SYSTEM
    cached: Role | None = getattr(user, "_aduan_role", None)
    if cached is None:
        cached = _compute_role(user)
        user._aduan_role = cached  # type: ignore[union-attr]
    return cached


def _compute_role(user: Any) -> Role:
    """One small query, whatever the role: groups, partner membership, citizen profile.

    Plain SQL: building the same query with the ORM costs several milliseconds of Python on
    every API request, ten times what the database needs to answer it.
    """
    if not (user.is_authenticated and user.is_active):
        return Role.NONE
    if user.is_superuser:
        return Role.SUPERVISOR
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {role_columns('%(user)s')}", role_parameters(user=user.pk))
        return _role_from(user, *cursor.fetchone())


def remember_role(user: Any) -> None:
    """Sets the user's role from the `role_columns` a raw query read along with the user,
    so that `role_of` needs no query of its own."""
    flags = (user.role_supervisor, user.role_agent, user.role_partner, user.role_citizen)
    user._aduan_role = _role_from(user, *flags) if user.is_authenticated else Role.NONE


def _role_from(
    user: Any, is_supervisor: bool, is_agent: bool, is_partner: bool, citizen_pk: int | None
) -> Role:
    role = role_from_flags(
        user.is_active,
        user.is_superuser,
        user.is_staff,
        is_supervisor,
        is_agent,
        is_partner,
        citizen_pk,
    )
    if role is Role.CITIZEN:
        user._aduan_citizen_id = citizen_pk
    return role


def role_from_flags(
    is_active: bool,
    is_superuser: bool,
    is_staff: bool,
    is_supervisor: bool,
    is_agent: bool,
    is_partner: bool,
    citizen_pk: int | None,
) -> Role:
    """The role of a signed-in user from their account flags and the `role_columns`."""
    if not is_active:
        return Role.NONE
    if is_superuser or (is_staff and is_supervisor):
        return Role.SUPERVISOR
    if is_staff and is_agent:
        return Role.AGENT
    if is_partner:
        return Role.PARTNER
    if citizen_pk is not None:
        return Role.CITIZEN
    return Role.NONE


def role_parameters(**extra: Any) -> dict[str, Any]:
    """The bound parameters `role_columns` needs, with `extra` ones of the caller's query."""
    return {"supervisors": SUPERVISORS_GROUP, "agents": AGENTS_GROUP, **extra}


@cache
def role_columns(user: str) -> str:
    """Four SELECT columns giving the role flags of the user whose id is the SQL `user`:
    supervisor, agent, active partner member, citizen profile id (or NULL)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from complaints.models import Citizen
    from partners.models import Membership, Organisation

    in_group = get_user_model().groups.through._meta.db_table
    group, citizen = Group._meta.db_table, Citizen._meta.db_table
    member, organisation = Membership._meta.db_table, Organisation._meta.db_table
    # Only table names (from model metadata) and the caller's column expression are
    # formatted in; every value is a bound parameter.
    grouped = (
        f"EXISTS (SELECT 1 FROM {in_group} ug JOIN {group} g ON g.id = ug.group_id "  # noqa: S608
        f"WHERE ug.user_id = {user} AND g.name = {{name}}) AS {{alias}}"
    )
    return (
        f"{grouped.format(name='%(supervisors)s', alias='role_supervisor')}, "  # noqa: S608
        f"{grouped.format(name='%(agents)s', alias='role_agent')}, "
        f"EXISTS (SELECT 1 FROM {member} m JOIN {organisation} o ON o.id = m.organisation_id "
        f"WHERE m.user_id = {user} AND m.is_active AND o.is_active) AS role_partner, "
        f"(SELECT c.id FROM {citizen} c WHERE c.user_id = {user}) AS role_citizen"
    )


def citizen_id(user: Any) -> int | None:
    """The citizen profile id of a citizen user (known once their role is)."""
    if role_of(user) is not Role.CITIZEN:
        return None
    return getattr(user, "_aduan_citizen_id", None)


def partner_organisation_ids(user: Any) -> frozenset[int]:
    """Ids of the active partner organisations the user is an active member of."""
    cached: frozenset[int] | None = getattr(user, "_aduan_partner_orgs", None)
    if cached is None:
        from partners.models import Membership

        cached = frozenset(
            Membership.objects.filter(
                user=user, is_active=True, organisation__is_active=True
            ).values_list("organisation_id", flat=True)
        )
        user._aduan_partner_orgs = cached
    return cached


def may(*roles: Role) -> Any:
    """A django-fsm permission: the actor has one of `roles` and a stake in this ticket."""

    def permission(ticket: Any, user: Any) -> bool:
        role = role_of(user)
        if role not in roles:
            return False
        if role is Role.PARTNER:
            return ticket.partner_id in partner_organisation_ids(user)
        if role is Role.CITIZEN:
            return bool(ticket.citizen.user_id == user.pk)
        return True

    permission.roles = frozenset(roles)  # type: ignore[attr-defined]
    return permission


AGENT_PERMISSIONS = [
    "complaints.view_ticket",
    "complaints.change_ticket",
    "complaints.work_ticket",
    "complaints.view_message",
    "complaints.view_attachment",
    "complaints.view_ticketevent",
    "complaints.view_citizen",
    "complaints.view_channelidentity",
    "complaints.view_category",
    "complaints.view_cannedresponse",
    "complaints.view_handovernote",
    "complaints.add_handovernote",
    "partners.view_organisation",
    "partners.view_servicearea",
    "partners.view_assignment",
    "partners.view_consultrequest",
    "partners.add_consultrequest",
    "webchat.view_conversation",
    "webchat.view_chatevent",
]
SUPERVISOR_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    "complaints.add_category",
    "complaints.change_category",
    "complaints.add_cannedresponse",
    "complaints.change_cannedresponse",
    "partners.add_organisation",
    "partners.change_organisation",
    "partners.view_membership",
    "partners.add_servicearea",
    "partners.change_servicearea",
    "escalation.view_slapolicy",
    "escalation.change_slapolicy",
    "escalation.view_businesscalendar",
    "escalation.change_businesscalendar",
    "escalation.view_holiday",
    "escalation.add_holiday",
    "channels_ingest.view_channelaccount",
    "quality.view_sameanswerflag",
    "quality.view_review",
]


def ensure_role_groups(**kwargs: Any) -> None:
    """Create the agent and supervisor groups with their permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    for group_name, codes in (
        (AGENTS_GROUP, AGENT_PERMISSIONS),
        (SUPERVISORS_GROUP, SUPERVISOR_PERMISSIONS),
    ):
        group, _ = Group.objects.get_or_create(name=group_name)
        wanted = [code.split(".") for code in codes]
        perms = Permission.objects.select_related("content_type").filter(
            content_type__app_label__in={app for app, _ in wanted},
            codename__in={codename for _, codename in wanted},
        )
        group.permissions.add(
            *[p for p in perms if [p.content_type.app_label, p.codename] in wanted]
        )
