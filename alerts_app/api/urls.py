"""The alerting API: rules, channels, alerts, silences, policies, incidents, inhibit rules,
the configuration as code."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from alerts_app.api.config_views import ConfigApplyView, ConfigView
from alerts_app.api.notification_views import AlertViewSet, ChannelViewSet, ModelHealthView
from alerts_app.api.routing_views import IncidentViewSet, InhibitRuleViewSet, PolicyViewSet
from alerts_app.api.silence_views import SilenceViewSet
from alerts_app.api.views import RuleViewSet

router = DefaultRouter(trailing_slash=True)
router.register("rules", RuleViewSet, basename="rule")
router.register("channels", ChannelViewSet, basename="channel")
router.register("alerts", AlertViewSet, basename="alert")
router.register("silences", SilenceViewSet, basename="silence")
router.register("policies", PolicyViewSet, basename="policy")
router.register("inhibit-rules", InhibitRuleViewSet, basename="inhibit-rule")
router.register("incidents", IncidentViewSet, basename="incident")

urlpatterns = router.urls + [
    path("models/<slug:name>/health/", ModelHealthView.as_view(), name="model-health"),
    path("config/", ConfigView.as_view(), name="config"),
    path("config/apply/", ConfigApplyView.as_view(), name="config-apply"),
]
