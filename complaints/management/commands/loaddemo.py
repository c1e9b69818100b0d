from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from complaints.demo import DEMO_USERS, load_demo


class Command(BaseCommand):
    help = "Load the demo data set (users, categories, SLA policies, channel accounts). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        created = load_demo(timezone.localdate())
        self.stdout.write(f"Demo data loaded; new users: {', '.join(created) or 'none'}.")
        names = ", ".join(f"{u.username}/{u.username}" for u in DEMO_USERS)
        self.stderr.write(
            self.style.WARNING(
                f"WARNING: demo accounts with known passwords exist ({names}). "
                "Change or remove them before real use."
            )
        )
