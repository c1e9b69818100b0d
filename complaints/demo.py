"""Demo data for a fresh installation (`manage.py loaddemo`). Safe to run again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import holidays
from django.contrib.auth.models import Group, User
from django.db import transaction

from channels_ingest.models import ACCOUNT_KINDS, ChannelAccount
from complaints import services
from complaints.choices import Channel, Priority
from complaints.models import CannedResponse, Category
from complaints.roles import AGENTS_GROUP, SUPERVISORS_GROUP, ensure_role_groups
from escalation.models import BusinessCalendar, EscalationContact, Holiday, SLAPolicy
from partners.models import MemberRole, Membership, Organisation, OrganisationKind, ServiceArea

CATEGORIES = [
    ("obat-isoman", "Pengiriman obat isoman", "Medicine delivery for patients in home isolation."),
    ("jaringan", "Gangguan jaringan", "Network or line outage."),
    ("tagihan", "Tagihan", "Billing."),
    ("rekam-medis", "Rekam medis", "Medical records."),
    ("layanan-publik", "Layanan publik", "Any other public service."),
]
# priority: (first response, resolution, partner update) in minutes, and the calendar.
SLA_WINDOWS = {
    Priority.CRITICAL: (15, 240, 30, "24-7"),
    Priority.URGENT: (30, 480, 60, "24-7"),
    Priority.HIGH: (60, 1440, 120, "jam-kerja"),
    Priority.NORMAL: (240, 4320, 480, "jam-kerja"),
    Priority.LOW: (480, 10080, 1440, "jam-kerja"),
}
CANNED_RESPONSES = [
    (
        "Sedang dicek",
        "Yth. {citizen_name}, pengaduan {ticket_number} sedang kami periksa. Kami kabari "
        "paling lambat {due_at}.",
    ),
    (
        "Mohon data tambahan",
        "Yth. {citizen_name}, untuk menindaklanjuti pengaduan {ticket_number} kami memerlukan "
        "foto resep atau bukti pendukung. Silakan balas pesan ini.",
    ),
    (
        "Diteruskan ke mitra",
        "Pengaduan {ticket_number} sudah kami teruskan ke mitra yang menangani. Kami pantau "
        "sampai selesai.",
    ),
]
DEMO_SECRET = "demo-secret"  # noqa: S105 - demo channel accounts only, printed as such
DEMO_VERIFY_TOKEN = "demo-verify-token"  # noqa: S105
DEMO_MAILBOX = "pengaduan@aduan.example"


@dataclass(frozen=True)
class DemoUser:
    username: str
    superuser: bool = False
    group: str | None = None
    partner: str | None = None


DEMO_USERS = [
    DemoUser("admin", superuser=True),
    DemoUser("agent", group=AGENTS_GROUP),
    DemoUser("supervisor", group=SUPERVISORS_GROUP),
    DemoUser("apotek", partner="apotek-sehat"),
]


@transaction.atomic
def load_demo(today: date) -> list[str]:
    """Creates what is missing of the demo set; returns the created usernames."""
    ensure_role_groups()
    for code, name, description in CATEGORIES:
        Category.objects.update_or_create(
            code=code, defaults={"name": name, "description": description}
        )
    for title, body in CANNED_RESPONSES:
        CannedResponse.objects.get_or_create(title=title, defaults={"body": body})
    _partners()
    _calendars(today)
    _channel_accounts()
    created = [u.username for u in DEMO_USERS if _user(u)]
    _escalation_contacts()
    _tickets()
    return created


def _partners() -> None:
    """Apotek Sehat (the partner staff's), another pharmacy in the same area to offer when
    it is closed, and the insurer for consult requests."""
    depok, _ = ServiceArea.objects.get_or_create(code="depok", defaults={"name": "Depok"})
    for slug, name, kind in (
        ("apotek-sehat", "Apotek Sehat", OrganisationKind.PHARMACY),
        ("apotek-melati", "Apotek Melati", OrganisationKind.PHARMACY),
        ("bpjs-kesehatan", "BPJS Kesehatan", OrganisationKind.INSURER),
    ):
        organisation, _ = Organisation.objects.get_or_create(
            slug=slug, defaults={"name": name, "kind": kind}
        )
        if kind == OrganisationKind.PHARMACY:
            organisation.service_areas.add(depok)


def _calendars(today: date) -> None:
    always, _ = BusinessCalendar.objects.get_or_create(
        slug="24-7", defaults={"name": "24/7", "always_open": True, "weekly_hours": {}}
    )
    office, _ = BusinessCalendar.objects.get_or_create(
        slug="jam-kerja", defaults={"name": "Jam kerja (Senin-Jumat 08:00-16:00)"}
    )
    for day, name in holidays.country_holidays("ID", years=[today.year, today.year + 1]).items():
        Holiday.objects.get_or_create(calendar=office, date=day, defaults={"name": name[:200]})
    pharmacy, _ = BusinessCalendar.objects.get_or_create(
        slug="apotek-sehat",
        defaults={
            "name": "Apotek Sehat (Senin-Sabtu 08:00-21:00)",
            "weekly_hours": {str(day): [["08:00", "21:00"]] for day in range(1, 7)},
        },
    )
    Organisation.objects.filter(slug="apotek-sehat", calendar=None).update(calendar=pharmacy)
    calendars = {"24-7": always, "jam-kerja": office}
    for priority, (first, resolution, partner, calendar) in SLA_WINDOWS.items():
        SLAPolicy.objects.get_or_create(
            category=None,
            priority=priority,
            defaults={
                "first_response_minutes": first,
                "resolution_minutes": resolution,
                "partner_update_minutes": partner,
                "calendar": calendars[calendar],
            },
        )


def _escalation_contacts() -> None:
    """The institution's contacts: the supervisor at level 1, the admin at levels 2 and 3
    (no shifts: always reachable)."""
    for level, username in ((1, "supervisor"), (2, "admin"), (3, "admin")):
        user = User.objects.filter(username=username).first()
        EscalationContact.objects.get_or_create(
            organisation=None,
            level=level,
            name=f"{username} (demo)",
            defaults={"user": user, "email": f"{username}@aduan.example"},
        )


def _channel_accounts() -> None:
    for kind, label in ACCOUNT_KINDS:
        ChannelAccount.objects.get_or_create(
            kind=kind,
            slug="demo",
            defaults={
                "name": f"Demo {label}",
                "webhook_secret": DEMO_SECRET,
                "verify_token": DEMO_VERIFY_TOKEN,
                "address": DEMO_MAILBOX if kind == Channel.EMAIL else "",
            },
        )


def _user(spec: DemoUser) -> bool:
    user, created = User.objects.get_or_create(
        username=spec.username,
        defaults={"is_staff": spec.partner is None, "is_superuser": spec.superuser},
    )
    if created:
        user.set_password(spec.username)
        user.save(update_fields=["password"])
    if spec.group:
        user.groups.add(Group.objects.get(name=spec.group))
    if spec.partner:
        Membership.objects.get_or_create(
            user=user,
            organisation=Organisation.objects.get(slug=spec.partner),
            defaults={"role": MemberRole.STAFF},
        )
    return created


def _tickets() -> None:
    """A few complaints through the same service every channel uses (idempotent)."""
    demo = [
        (
            Channel.WHATSAPP,
            "+6281234567890",
            "Ibu Sari",
            "obat-isoman",
            Priority.HIGH,
            "Obat isoman untuk ayah saya belum datang sejak kemarin, "
            "status masih menunggu konfirmasi.",
        ),
        (
            Channel.EMAIL,
            "budi@example.com",
            "Budi",
            "tagihan",
            Priority.NORMAL,
            "Tagihan bulan ini dua kali lipat padahal pemakaian sama.",
        ),
        (
            Channel.X,
            "warga_kota",
            "Warga Kota",
            "jaringan",
            Priority.URGENT,
            "Telepon rumah mati sejak tiga hari, kata petugas kabel putus.",
        ),
    ]
    for n, (channel, address, name, category, priority, body) in enumerate(demo, start=1):
        citizen = services.identify_citizen(channel=channel, address=address, name=name)
        services.open_ticket(
            citizen=citizen,
            channel=channel,
            subject="",
            body=body,
            category=Category.objects.get(code=category),
            priority=priority,
            channel_account=ChannelAccount.objects.filter(kind=channel, slug="demo").first(),
            external_id=f"demo-{n}",
        )
