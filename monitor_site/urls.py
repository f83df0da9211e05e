"""Root URLs: admin, the REST API under /api/v1/, its schema and docs, health, dashboards."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from monitor_site.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include("models_app.api.urls")),
    path("api/v1/", include("alerts_app.api.urls")),
    path("", include("frontend.urls")),
]

# JSON error answers under /api/ (monitor_site/errors.py); Django's pages elsewhere.
handler404 = "monitor_site.errors.not_found"
handler500 = "monitor_site.errors.server_error"
