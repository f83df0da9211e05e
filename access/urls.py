"""Per-model roles and ingest tokens, for the model's admins."""

from django.urls import path

from access import api

urlpatterns = [
    path("models/<slug:name>/roles/", api.ModelRoleList.as_view(), name="model-roles"),
    path("models/<slug:name>/roles/<int:pk>/", api.ModelRoleDetail.as_view(), name="model-role"),
    path("models/<slug:name>/tokens/", api.IngestTokenList.as_view(), name="model-tokens"),
    path(
        "models/<slug:name>/tokens/<int:pk>/revoke/",
        api.IngestTokenRevoke.as_view(),
        name="model-token-revoke",
    ),
]
