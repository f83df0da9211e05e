from django.apps import AppConfig


class AlertsAppConfig(AppConfig):
    name = "alerts_app"
    verbose_name = "Alerting"

    def ready(self) -> None:
        """Segment profiles follow the rules that segment by a feature (alerts_app/segments.py)."""
        from django.db.models.signals import post_delete, post_save

        from alerts_app import segments
        from alerts_app.models import AlertRule

        post_save.connect(segments.rule_changed, sender=AlertRule, dispatch_uid="segments-save")
        post_delete.connect(segments.rule_changed, sender=AlertRule, dispatch_uid="segments-del")
