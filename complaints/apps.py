from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = "Complaints"

    def ready(self) -> None:
        from complaints import checks  # noqa: F401 - registers the system checks
        from complaints.roles import ensure_role_groups
        from complaints.rows import send_arrays_in_binary

        send_arrays_in_binary()

        # Role groups must exist on every installation, demo data or not.
        post_migrate.connect(ensure_role_groups, dispatch_uid="aduan-role-groups")
