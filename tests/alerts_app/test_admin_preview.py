"""The rule form's "Preview": the form as filled in, backtested without saving anything,
answered in words and as a figure; errors by the field's label; and in headless Chromium
the button draws the chart with the app's own plotly.js (no CSP violation)."""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import timezone

from alerts_app.admin_preview import figure, parse_days
from alerts_app.models import AlertRule
from models_app.models import MetricPoint
from tests.alerts_app.test_admin_rules import form_data
from tests.factories import make_alert_rule, make_model, make_user

PREVIEW = "/admin/alerts_app/alertrule/preview/"
HIGH_HOURS = set(range(30, 36)) | set(range(5, 9))  # hours back with a high loss


def seed(model, days: int = 3) -> None:
    now = timezone.now()
    MetricPoint.objects.bulk_create(
        MetricPoint(
            model=model,
            version=model.versions.get(),
            name="loss",
            value=0.9 if minutes // 60 in HIGH_HOURS else 0.1,
            timestamp=now - timedelta(minutes=minutes),
        )
        for minutes in range(0, (days * 24 + 2) * 60, 15)
    )


def alerting_rows() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in apps.get_app_config("alerts_app").get_models()}


@pytest.fixture
def staff(client, db):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123-xyz")
    client.force_login(admin)
    return client


def preview_data(model, **overrides) -> dict:
    defaults = {"cfg_window": "1h", "interval": "1h", "preview_days": "3"}
    return form_data(model, "metric_threshold", **(defaults | overrides))


@pytest.mark.django_db
def test_preview_backtests_the_form_and_saves_nothing(staff, model):
    seed(model)
    before = alerting_rows()
    response = staff.post(PREVIEW, preview_data(model))
    assert response.status_code == 200, response.content
    answer = response.json()
    assert alerting_rows() == before
    assert answer["evaluations"] == 72
    assert len(answer["firings"]) == 2
    assert answer["summary"] == "would have fired twice in 3 days, 10 h in total"
    value, threshold = answer["figure"]["data"]
    assert value["y"].count(0.9) == 10 and threshold["y"] == [0.5, 0.5]
    assert len(answer["figure"]["layout"]["shapes"]) == 2


@pytest.mark.django_db
def test_preview_of_a_stored_rule_uses_the_form_not_the_stored_timing(staff, model):
    seed(model)
    rule = make_alert_rule(model, interval=3600, config={"metric": "loss", "threshold": 0.5})
    data = preview_data(model, pending_for="5h", rule_id=str(rule.pk))
    answer = staff.post(PREVIEW, data).json()
    assert len(answer["firings"]) == 1  # only the 6 h span outlasts 5 h pending
    rule.refresh_from_db()
    assert rule.pending_for == 0 and rule.interval == 3600


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "label"),
    [
        ({"cfg_threshold": "high"}, "Threshold (required)"),
        ({"cfg_window": "5 parsecs"}, "Window"),
        ({"interval": "often"}, "Interval"),
        ({"preview_days": "0"}, "Days"),
        ({"preview_days": "91"}, "Days"),
        ({"preview_days": "many"}, "Days"),
        ({"interval": "1m", "preview_days": "30"}, "Days"),
    ],
)
def test_preview_errors_name_the_field(staff, model, overrides, label):
    response = staff.post(PREVIEW, preview_data(model, **overrides))
    assert response.status_code == 400
    assert label in response.json()["errors"], response.json()


@pytest.mark.django_db
def test_preview_needs_staff(client, model):
    client.force_login(make_user("plain"))
    response = client.post(PREVIEW, preview_data(model))
    assert response.status_code == 302  # the admin's login page
    assert AlertRule.objects.count() == 0


def test_figure_and_days_bounds_are_pure():
    assert parse_days(None, 3600) == (30, None)
    assert parse_days("90", 3600) == (90, None)
    assert parse_days("6", 60)[0] == 6  # 8,640 evaluations
    assert parse_days("7", 60)[1].startswith("At most 10000 evaluations")
    t = timezone.now()
    answer = {
        "series": [
            {"t": t, "value": 1.0, "status": "breached", "threshold": 0.5},
            {"t": t + timedelta(hours=1), "value": 0.1, "status": "ok", "threshold": 0.5},
        ],
        "firings": [{"started_at": t, "resolved_at": None, "peak": 1.0}],
    }
    drawn = figure(answer, t + timedelta(hours=2))
    assert drawn["data"][0]["marker"]["color"] == ["#d62728", "#2ca02c"]
    assert drawn["layout"]["shapes"][0]["x1"] == (t + timedelta(hours=2)).isoformat()


# -- in the browser ---------------------------------------------------------------------

CHROMIUM = os.environ.get("MODELWATCH_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def chromium(django_db_setup, django_db_blocker):
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"no browser at {CHROMIUM}: install Debian's chromium to run browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop beside the ORM
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_preview_button_draws_the_replay(chromium, live_server):
    model = make_model()
    seed(model)
    rule = make_alert_rule(
        model, interval=3600, config={"metric": "loss", "threshold": 0.5, "window": 3600}
    )
    get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-12345-xyz")
    page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    base = live_server.url
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw-12345-xyz")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    page.goto(f"{base}/admin/alerts_app/alertrule/{rule.pk}/change/")
    errors.clear()
    page.fill("#mw-preview-days", "3")
    page.click("#mw-preview-button")
    page.wait_for_function(
        "() => document.getElementById('mw-preview').dataset.state === 'ready' && "
        "document.getElementById('mw-preview-chart')._fullData"
    )
    words = page.locator("#mw-preview-words").inner_text()
    assert words == "This rule would have fired twice in 3 days, 10 h in total."
    drawn = page.evaluate(
        "(() => { const c = document.getElementById('mw-preview-chart');"
        " return {traces: c._fullData.length, shapes: c._fullLayout.shapes.length,"
        " points: c._fullData[0].x.length}; })()"
    )
    assert drawn == {"traces": 2, "shapes": 2, "points": 72}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "admin-preview.png", full_page=True)
    assert errors == []  # no CSP violation, no script error
    page.fill("#id_cfg_window", "5 parsecs")
    page.click("#mw-preview-button")
    page.wait_for_function("() => document.getElementById('mw-preview').dataset.state === 'error'")
    assert page.locator("#mw-preview-errors").inner_text().startswith("Window:")
    assert AlertRule.objects.get(pk=rule.pk).config["window"] == 3600
