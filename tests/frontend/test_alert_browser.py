"""The on-call story in headless Chromium: from a drift alert's notification link, the page
names the top drifted feature and draws its distribution on first load, and the alert is
acknowledged with a note in at most two clicks, without hovering anything.

Self-contained: the model, its reference and its drifted traffic go in through the API, and
the rule is evaluated for real (check, state machine, outbox).
"""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from alerts_app.evaluate import evaluate_rule
from alerts_app.lifecycle import apply_result
from alerts_app.models import Alert, AlertRule
from alerts_app.outbox import alert_links
from tests.factories import grant_all_models, make_model, make_token, make_user
from tests.frontend.test_browser import (  # noqa: F401 (fixtures)
    ARTIFACTS,
    chromium,
    log_in,
    page,
    sync_orm_beside_playwright,
    wait_for_figures,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def post(api: APIClient, path: str, body: dict) -> None:
    response = api.post(f"/api/v1/models/credit-risk/{path}/", body, format="json")
    assert response.status_code in (200, 201), response.content


def drifted_credit_model(now) -> Alert:
    """credit-risk: income moved far, age a little, channel's mix changed; a firing alert."""
    rng = np.random.default_rng(7)
    model = make_model(
        "credit-risk",
        features=[
            {"name": "income", "type": "numeric"},
            {"name": "age", "type": "numeric"},
            {"name": "channel", "type": "categorical"},
            {"name": "tenure", "type": "numeric"},
        ],
    )
    api = APIClient()
    owner = grant_all_models(make_user(), "admin")
    api.credentials(HTTP_AUTHORIZATION=f"Token {make_token(owner)}")
    mix = ["web", "branch", "phone"]
    post(
        api,
        "reference",
        {
            "records": [
                {"income": float(i), "age": float(a), "channel": c, "tenure": float(t)}
                for i, a, c, t in zip(
                    rng.normal(50, 10, 1500),
                    rng.normal(40, 10, 1500),
                    rng.choice(mix, 1500, p=[0.5, 0.3, 0.2]),
                    rng.normal(5, 2, 1500),
                    strict=True,
                )
            ]
        },
    )
    n = 1000
    post(
        api,
        "predictions",
        {
            "records": [
                {
                    "timestamp": (now - timedelta(seconds=5 + k * 3)).isoformat(),
                    "prediction": 1,
                    "features": {
                        "income": float(i),
                        "age": float(a),
                        "channel": c,
                        "tenure": float(t),
                    },
                }
                for k, (i, a, c, t) in enumerate(
                    zip(
                        rng.normal(80, 10, n),
                        rng.normal(43, 10, n),
                        rng.choice(mix, n, p=[0.2, 0.3, 0.5]),
                        rng.normal(5, 2, n),
                        strict=True,
                    )
                )
            ]
        },
    )
    rule = AlertRule.objects.create(
        name="input drift",
        model=model,
        kind="data_drift",
        severity="critical",
        config={"window": "1h"},
    )
    apply_result(rule, evaluate_rule(rule, now), now)
    return Alert.objects.get(rule=rule, state="firing")


def test_on_call_reads_why_and_acknowledges_from_the_notification_link(page, live_server):  # noqa: F811 (the fixture imported above)
    alert = drifted_credit_model(timezone.now())
    base = live_server.url
    log_in(page, base)
    page.set_viewport_size({"width": 1440, "height": 900})
    link = alert_links(alert)[0]
    assert link.endswith(f"/alerts/{alert.pk}/")
    page.goto(base + link[link.index("/alerts/") :])
    clicks = 0

    top = page.locator("ol.causes li").first.inner_text()
    assert top.startswith("income"), top
    page.wait_for_function(
        "() => { const e = document.getElementById('figure-distribution-1');"
        " return e && e.dataset.state === 'ready' && e._fullData && e._fullData.length === 2"
        " && e._fullData[0].y.length > 2; }"
    )
    title = page.evaluate("document.getElementById('figure-distribution-1')._fullLayout.title.text")
    assert title.startswith("income: reference vs current")
    assert page.locator("#figure-distribution-1 .main-svg").first.is_visible()
    page.screenshot(path=ARTIFACTS / "alert.png", full_page=True)  # docs/screenshot-alert.png

    page.click("#ack-note")
    clicks += 1
    page.keyboard.type("income feed switched to monthly; on it")
    page.click("button[data-ack]")
    clicks += 1
    page.wait_for_url(f"{base}/alerts/{alert.pk}/")
    wait_for_figures(page)  # nothing left in flight when the test's data is flushed
    assert clicks <= 2
    alert.refresh_from_db()
    assert alert.acknowledged_note == "income feed switched to monthly; on it"
    assert alert.acknowledged_by.username == "ops"
    assert "income feed switched to monthly" in page.locator("[data-ack-state]").inner_text()
    assert page.errors == []
