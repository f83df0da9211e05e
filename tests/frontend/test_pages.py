"""The dashboard pages and figure endpoints through Django's test client."""

import json
from datetime import timedelta

import pytest
from django.test import Client

from alerts_app.models import Alert

pytestmark = pytest.mark.django_db

FIGURES = [
    "timeline",
    "metric",
    "serving",
    "drift",
    "distribution",
    "performance",
    "training",
    "weights",
    "versions",
]


def figure(client, model, which, **params):
    response = client.get(f"/models/{model.name}/figures/{which}.json", params)
    assert response.status_code == 200, response.content
    return response.json()


def traces_with_data(fig) -> list[dict]:
    return [
        t
        for t in fig["data"]
        if any(k in t for k in ("x", "y", "z"))
        and (t.get("x") not in (None, [None]) or t.get("z") is not None)
    ]


@pytest.mark.parametrize("path", ["/", "/models/churn/", "/alerts/", "/rules/1/"])
def test_pages_redirect_anonymous_users_to_the_login(path, watched):
    response = Client().get(path)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


def test_figure_endpoints_answer_401_json_to_anonymous_users(watched):
    response = Client().get("/models/churn/figures/serving.json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required."}


def test_the_overview_lists_each_model_with_health_and_volume(browser_client, watched, frozen_now):
    response = browser_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-model="churn"' in html
    assert '<span class="badge critical">critical</span>' in html
    row = next(r for r in response.context["rows"] if r.model.name == "churn")
    assert (row.health, row.firing, row.predictions_24h) == ("critical", 1, 96)
    assert row.key.label == "accuracy (production), 7 d" and row.key.last == "0.7"
    assert row.key.spark.count(",") > 10


def test_the_overview_filters_by_search_and_tag(browser_client, watched):
    from tests.factories import make_model

    make_model("fraud", tags=["team-b"])
    assert [r.model.name for r in browser_client.get("/?q=chu").context["rows"]] == ["churn"]
    assert [r.model.name for r in browser_client.get("/?tag=team-b").context["rows"]] == ["fraud"]


def test_the_model_page_renders_a_container_per_figure(browser_client, watched, frozen_now):
    response = browser_client.get("/models/churn/?range=7d")
    assert response.status_code == 200
    html = response.content.decode()
    for name in FIGURES:
        if name != "versions":  # churn has one version: that section folds into a line
            assert f'data-figure="{name}"' in html
    assert 'data-fold="versions"' in html and 'data-figure="versions"' not in html
    assert "/models/churn/figures/metric.json?range=7d&amp;name=accuracy" in html
    assert 'data-live="1"' in html


@pytest.mark.parametrize("name", FIGURES)
def test_every_model_figure_carries_the_models_data(browser_client, watched, frozen_now, name):
    fig = figure(browser_client, watched, name, range="7d")
    assert traces_with_data(fig), f"{name} has no data traces"
    assert "annotations" not in fig["layout"] or all(
        "No " not in a.get("text", "") for a in fig["layout"]["annotations"]
    )


def test_the_metric_figure_draws_the_rule_threshold_and_the_firing_span(
    browser_client, watched, frozen_now
):
    fig = figure(browser_client, watched, "metric", range="7d", name="accuracy")
    shapes = fig["layout"]["shapes"]
    assert any(s["type"] == "line" and s["y0"] == 0.8 for s in shapes)
    assert {s["name"] for s in shapes if s["type"] == "rect"} == {
        "pending: accuracy too low",
        "firing: accuracy too low",
    }
    assert fig["layout"]["yaxis"]["title"]["text"] == "accuracy"


def test_the_distribution_figure_compares_the_reference_with_the_window(
    browser_client, watched, frozen_now
):
    fig = figure(browser_client, watched, "distribution", range="7d", feature="city")
    reference, current = fig["data"]
    assert reference["x"] == ["paris", "rome"]
    assert reference["name"] == "reference" and current["name"] == "current"


def test_an_unknown_model_version_or_figure_is_404(browser_client, watched):
    assert browser_client.get("/models/nope/").status_code == 404
    assert browser_client.get("/models/nope/figures/serving.json").status_code == 404
    assert browser_client.get("/models/churn/?version=9").status_code == 404
    assert browser_client.get("/models/churn/figures/bogus.json").status_code == 404
    assert browser_client.get("/rules/999999/").status_code == 404


def test_a_bad_range_is_400_naming_the_parameter(browser_client, watched):
    response = browser_client.get("/models/churn/figures/serving.json?range=2y")
    assert response.status_code == 400
    assert "range" in json.loads(response.content)
    response = browser_client.get("/models/churn/?start=2026-03-02T10:00&end=2026-03-01T10:00")
    assert response.status_code == 400
    assert "end must be after start." in response.content.decode()  # a page: HTML


def test_a_custom_range_is_not_refreshed(browser_client, watched):
    response = browser_client.get("/models/churn/?start=2026-03-01T00:00&end=2026-03-02T00:00")
    assert response.status_code == 200
    assert 'data-live="0"' in response.content.decode()


def test_user_text_is_escaped(browser_client, watched):
    Alert.objects.update(message="<script>x</script>")
    watched.rules.update(name="<script>alert(1)</script>")
    for path in ("/", "/models/churn/", "/alerts/", f"/rules/{watched.rules.first().pk}/"):
        html = browser_client.get(path).content.decode()
        assert "<script>alert(" not in html, path
    alerts_html = browser_client.get("/alerts/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in alerts_html


def test_the_alerts_page_lists_firing_alerts_with_a_link_to_their_time(
    browser_client, watched, frozen_now
):
    response = browser_client.get("/alerts/")
    (title, rows), *_ = response.context["sections"]
    assert title == "Firing" and len(rows) == 1
    alert = Alert.objects.get(state="firing")
    assert rows[0].link == f"/models/churn/?alert={alert.pk}&version=1"


def test_an_alert_link_frames_the_model_page_on_the_onset_with_24_results_before_it(
    browser_client, watched, frozen_now
):
    """The alert went pending 8 h ago; its rule has a result every hour: the window
    starts at the 24th result before the onset (32 h ago) and runs to now."""
    alert = Alert.objects.get(state="firing")
    response = browser_client.get(f"/models/churn/?alert={alert.pk}")
    window = response.context["window"]
    assert (window.start, window.end) == (frozen_now - timedelta(hours=32), frozen_now)
    html = response.content.decode()
    assert "start=2026-03-01T04%3A00%3A00Z&amp;end=2026-03-02T12%3A00%3A00Z" in html
    assert 'class="highlighted"' in html and 'id="framed-on"' in html
    assert browser_client.get("/models/churn/?alert=999999").status_code == 404
    explicit = browser_client.get(f"/models/churn/?alert={alert.pk}&range=30d")
    assert explicit.context["window"].key == "30d"  # an explicit range wins


@pytest.mark.parametrize(
    ("params", "count"),
    [
        ({"state": "firing"}, 1),
        ({"state": "resolved"}, 0),
        ({"severity": "critical"}, 1),
        ({"severity": "info"}, 0),
        ({"model": "churn"}, 1),
        ({"model": "other"}, 0),
    ],
)
def test_the_alerts_page_filters(browser_client, watched, params, count):
    sections = browser_client.get("/alerts/", params).context["sections"]
    assert sum(len(rows) for _, rows in sections) == count


def test_acknowledge_sets_who_and_when_and_redirects_back(browser_client, watched, viewer):
    alert = Alert.objects.get()
    response = browser_client.post(f"/alerts/{alert.pk}/acknowledge/", {"next": "/alerts/"})
    assert response.status_code == 302 and response.url == "/alerts/"
    alert.refresh_from_db()
    assert alert.acknowledged_by == viewer and alert.acknowledged_at is not None
    assert "ack'd by viewer" in browser_client.get("/alerts/").content.decode()


def test_acknowledge_requires_post_login_and_csrf(watched, viewer):
    alert = Alert.objects.get()
    url = f"/alerts/{alert.pk}/acknowledge/"
    assert Client().post(url).status_code == 302
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(viewer)
    assert strict.post(url).status_code == 403
    assert strict.get(url).status_code == 405
    assert Alert.objects.get().acknowledged_at is None


def test_acknowledge_never_redirects_off_site(browser_client, watched):
    alert = Alert.objects.get()
    response = browser_client.post(
        f"/alerts/{alert.pk}/acknowledge/", {"next": "https://evil.example.com/"}
    )
    assert response.url == "/alerts/"


def test_the_rule_page_shows_results_and_transitions(browser_client, watched, frozen_now):
    rule = watched.rules.get(kind="metric_threshold")
    response = browser_client.get(f"/rules/{rule.pk}/?range=7d")
    assert response.status_code == 200
    assert [t["new"] for t in response.context["transitions"]] == ["firing", "pending"]
    fig = browser_client.get(f"/rules/{rule.pk}/figures/history.json?range=7d").json()
    names = [t["name"] for t in fig["data"]]
    assert {"value", "threshold", "breached"} <= set(names)


def test_a_drift_rule_page_has_a_heatmap(browser_client, watched, frozen_now):
    rule = watched.rules.get(kind="data_drift")
    assert 'data-figure="drift"' in browser_client.get(f"/rules/{rule.pk}/").content.decode()
    fig = browser_client.get(f"/rules/{rule.pk}/figures/drift.json?range=7d").json()
    assert fig["data"][0]["type"] == "heatmap"
    assert fig["data"][0]["y"] == ["city", "age"]
