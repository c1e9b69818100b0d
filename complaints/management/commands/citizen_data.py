"""`manage.py citizen_data export|erase <citizen id>`: a citizen's personal data under
Indonesia's UU PDP — all of it as JSON, or erased (pseudonymised, statistics kept)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from complaints.models import Citizen
from complaints.services.personal_data import erase_citizen, export_citizen_data


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("citizen", type=int, help="the citizen's id")
        parser.add_argument("--output", help="export: write the JSON here (default: stdout)")
        parser.add_argument(
            "--requested-by",
            default="",
            help="erase: who asked and on what basis (recorded with the erasure; required)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        citizen = Citizen.objects.filter(pk=options["citizen"]).first()
        if citizen is None:
            raise CommandError(f"No citizen {options['citizen']}.")
        if options["action"] == "export":
            data = json.dumps(export_citizen_data(citizen), ensure_ascii=False, indent=2)
            if options["output"]:
                with open(options["output"], "w", encoding="utf-8") as out:
                    out.write(data + "\n")
                self.stdout.write(f"Written to {options['output']}.")
            else:
                self.stdout.write(data)
            return
        if not options["requested_by"].strip():
            raise CommandError("Say who asked for the erasure: --requested-by.")
        erasure = erase_citizen(citizen, requested_by=options["requested_by"].strip())
        self.stdout.write(
            f"Citizen {citizen.pk} erased as {erasure.pseudonym}: "
            + ", ".join(f"{k} {v}" for k, v in sorted(erasure.counts.items()))
        )
