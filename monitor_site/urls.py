"""Root URLs: admin, the REST API under /api/v1/, its schema and docs, health, Prometheus
metrics, dashboards."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from access.login_limits import LimitedLoginView
from alerts_app.metrics import metrics_view
from monitor_site.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init code as a file: no inline script (CSP).
    path(
        "api/v1/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="access/swagger_ui.html"
        ),
        name="docs",
    ),
    path("api/v1/", include("models_app.api.urls")),
    path("api/v1/", include("alerts_app.api.urls")),
    path("api/v1/", include("access.urls")),
    path(
        "accounts/login/",
        LimitedLoginView.as_view(
            template_name="access/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # For the pages that link no icon (admin, Swagger UI): browsers ask /favicon.ico.
    path("favicon.ico", RedirectView.as_view(url=static("frontend/favicon.svg"), permanent=True)),
    path("", include("frontend.urls")),
]

# JSON error answers under /api/ (monitor_site/errors.py); the dashboards' 404.html and
# 400.html (frontend/templates/) elsewhere.
handler400 = "monitor_site.errors.bad_request"
handler404 = "monitor_site.errors.not_found"
handler500 = "monitor_site.errors.server_error"
