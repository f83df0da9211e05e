"""The registry and telemetry API: the router is the table of contents."""

from rest_framework.routers import DefaultRouter

from models_app.api.views import ModelViewSet

router = DefaultRouter()
router.register("models", ModelViewSet, basename="model")

urlpatterns = router.urls
