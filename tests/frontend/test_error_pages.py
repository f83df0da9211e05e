"""404 and 400 answers of the dashboards: HTML in the app's layout; the API keeps JSON."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LAYOUT = '<a class="brand" href="/">ModelWatch</a>'


def assert_layout_page(response, status: int, title: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert LAYOUT in html
    assert f"<h1>{title}</h1>" in html
    assert '<link rel="icon" type="image/svg+xml" href="/static/frontend/favicon.svg">' in html
    return html


def test_an_unknown_model_is_a_404_page_in_the_layout(browser_client, watched):
    html = assert_layout_page(browser_client.get("/models/nope/"), 404, "Page not found")
    assert "<code>/models/nope/</code>" in html
    assert 'data-live="0"' in html


def test_an_unknown_model_is_the_same_page_with_django_debug_on(browser_client, watched, settings):
    settings.DEBUG = True
    html = assert_layout_page(browser_client.get("/models/nope/"), 404, "Page not found")
    assert "technical_404" not in html and "Django tried these URL patterns" not in html


def test_an_unknown_version_or_rule_is_a_404_page(browser_client, watched):
    assert_layout_page(browser_client.get("/models/churn/?version=9"), 404, "Page not found")
    assert_layout_page(browser_client.get("/rules/999999/"), 404, "Page not found")


def test_an_unknown_address_is_the_404_page(browser_client):
    assert_layout_page(browser_client.get("/no/such/page/"), 404, "Page not found")


def test_a_bad_range_on_a_page_is_a_400_page_naming_the_problem(browser_client, watched):
    html = assert_layout_page(browser_client.get("/models/churn/?range=2y"), 400, "Bad request")
    assert "range must be one of 1h, 24h, 7d, 30d, 90d, 365d (or start/end)." in html
    assert '<a href="/models/churn/">Show this page with the default range</a>' in html
    rule = watched.rules.first()
    html = assert_layout_page(browser_client.get(f"/rules/{rule.pk}/?range=2y"), 400, "Bad request")
    assert "range must be one of" in html


def test_figure_endpoints_and_the_api_keep_json_errors(browser_client, watched):
    response = browser_client.get("/models/churn/figures/serving.json?range=2y")
    assert (response.status_code, response.json()) == (
        400,
        {"range": ["range must be one of 1h, 24h, 7d, 30d, 90d, 365d (or start/end)."]},
    )
    response = browser_client.get("/api/v1/models/nope/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    response = browser_client.get("/api/v1/no-such-endpoint/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


def test_handler400_answers_json_under_the_api_and_the_page_elsewhere(rf):
    from monitor_site.errors import bad_request

    response = bad_request(rf.get("/api/v1/models/"))
    assert (response.status_code, response.content) == (400, b'{"detail": "Bad request."}')
    request = rf.get("/models/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    response = bad_request(request)
    assert response.status_code == 400
    assert "<h1>Bad request</h1>" in response.content.decode()


def test_the_favicon_is_served_by_the_app(client):
    response = Client().get("/favicon.ico")
    assert (response.status_code, response.url) == (301, "/static/frontend/favicon.svg")
    from django.contrib.staticfiles import finders

    assert finders.find("frontend/favicon.svg").endswith("frontend/static/frontend/favicon.svg")
