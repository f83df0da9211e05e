"""The OpenAPI schema lists every endpoint; Swagger UI is served without any CDN."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_schema_lists_the_registry_and_metrics_endpoints(api):
    response = api.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/models/",
        "/api/v1/models/{name}/",
        "/api/v1/models/{name}/versions/",
        "/api/v1/models/{name}/metrics/",
    ]:
        assert path in paths


def test_swagger_ui_loads_only_local_assets(api):
    response = api.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui" in s for s in sources)
    assert all(not s.startswith(("http://", "https://", "//")) for s in sources), sources


def test_the_swagger_ui_bundle_is_served_by_the_app(client, api):
    html = api.get("/api/v1/docs/").content.decode()
    bundle = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', html).group(1)
    assert client.get(bundle).status_code == 200
