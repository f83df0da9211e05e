"""Dashboard pages and their figure endpoints (JSON, polled every 30 s by the pages)."""

from django.urls import path

from frontend import alert_views, incident_views, views

app_name = "frontend"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("models/<slug:name>/", views.model_page, name="model"),
    path("models/<slug:name>/figures/<slug:figure>.json", views.model_figure, name="model-figure"),
    path("alerts/", views.alerts_page, name="alerts"),
    path("alerts/<int:pk>/", alert_views.alert_detail, name="alert"),
    path(
        "alerts/<int:pk>/figures/<slug:figure>.json", alert_views.alert_figure, name="alert-figure"
    ),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    *incident_views.urlpatterns,
    path("alerts/<int:pk>/silence/", alert_views.silence, name="silence"),
    path("rules/", alert_views.rules_page, name="rules"),
    path("rules/<int:pk>/", views.rule_page, name="rule"),
    path("rules/<int:pk>/figures/<slug:figure>.json", views.rule_figure, name="rule-figure"),
]
