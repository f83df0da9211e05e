"""The alerting API: rules, channels, alerts."""

from rest_framework.routers import DefaultRouter

from alerts_app.api.views import RuleViewSet

router = DefaultRouter(trailing_slash=True)
router.register("rules", RuleViewSet, basename="rule")

urlpatterns = router.urls
