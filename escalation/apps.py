from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "SLA and escalation"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from escalation import models
        from escalation.services import forget_calendars

        def forget(**_: object) -> None:
            forget_calendars()

        # An edit in this process is seen at once; other processes see it within
        # ADUAN_SLA_CACHE_SECONDS.
        for model in (models.BusinessCalendar, models.Holiday, models.Closure, models.SLAPolicy):
            post_save.connect(
                forget, sender=model, weak=False, dispatch_uid=f"sla-{model.__name__}"
            )
            post_delete.connect(
                forget, sender=model, weak=False, dispatch_uid=f"sla-del-{model.__name__}"
            )
