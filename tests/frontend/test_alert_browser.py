"""The on-call story in headless Chromium, on the demo: from the notification link of
credit-risk's input-drift alert, the page names the top drifted feature and draws its
distribution on first load, and the alert is acknowledged with a note in at most two
clicks, without hovering anything. Then the overview, which says why each model is unwell.

The demo is `manage.py seed_demo`'s (`demo.load.seed`: credit-risk, digits-camera and
digits-cnn-training through the ingestion API's code), whose rules are then evaluated for
real (check, state machine, outbox), as the worker does.
"""

import pytest
from django.utils import timezone

from alerts_app.evaluate import evaluate_rule
from alerts_app.lifecycle import apply_result
from alerts_app.models import Alert, AlertRule
from alerts_app.outbox import alert_links
from demo.load import seed
from tests.frontend.test_browser import (  # noqa: F401 (fixtures)
    ARTIFACTS,
    chromium,
    log_in,
    page,
    sync_orm_beside_playwright,
    wait_for_figures,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seeded_demo(now) -> Alert:
    """The demo's three models, every rule evaluated once; credit-risk's drift alert."""
    seed(now, history=False)
    for rule in AlertRule.objects.select_related("model"):
        apply_result(rule, evaluate_rule(rule, now), now)
    return Alert.objects.get(rule__model__name="credit-risk", rule__name="Input drift")


def test_on_call_reads_why_and_acknowledges_from_the_notification_link(page, live_server):  # noqa: F811 (the fixture imported above)
    alert = seeded_demo(timezone.now())
    assert alert.state == "firing"
    base = live_server.url
    log_in(page, base)
    page.set_viewport_size({"width": 1440, "height": 900})
    link = alert_links(alert)[0]
    assert link.endswith(f"/alerts/{alert.pk}/")
    page.goto(base + link[link.index("/alerts/") :])
    clicks = 0

    top = page.locator("ol.causes li").first
    assert top.inner_text().startswith("channel"), top.inner_text()  # χ² p < 1e-6
    assert "channel (χ² p < 1e-6)" in top.inner_text()
    assert top.is_visible() and top.bounding_box()["y"] < 900  # on the first screen
    page.wait_for_function(
        "() => { const e = document.getElementById('figure-distribution-1');"
        " return e && e.dataset.state === 'ready' && e._fullData && e._fullData.length === 2"
        " && e._fullData[0].y.length > 2; }"
    )
    title = page.evaluate("document.getElementById('figure-distribution-1')._fullLayout.title.text")
    assert title.startswith("channel: reference vs current")
    drawn = page.locator("#figure-distribution-1 .main-svg").first
    assert drawn.is_visible() and drawn.bounding_box()["y"] < 900  # no scroll, no click
    page.screenshot(path=ARTIFACTS / "alert.png", full_page=True)  # docs/screenshot-alert.png

    page.click("#ack-note")
    clicks += 1
    page.keyboard.type("branch channel reopened; on it")
    page.click("button[data-ack]")
    clicks += 1
    page.wait_for_url(f"{base}/alerts/{alert.pk}/")
    wait_for_figures(page)  # nothing left in flight when the test's data is flushed
    assert clicks <= 2
    alert.refresh_from_db()
    assert alert.acknowledged_note == "branch channel reopened; on it"
    assert alert.acknowledged_by.username == "ops"
    assert "branch channel reopened" in page.locator("[data-ack-state]").inner_text()
    assert page.errors == []

    page.goto(f"{base}/")  # the overview says why, per model
    why = page.locator('tr[data-model="credit-risk"] td.why').inner_text()
    assert "Input drift: channel (χ² p < 1e-6), mean_concave_points (KS" in why
    camera = page.locator('tr[data-model="digits-camera"]')
    assert camera.locator("[data-why]").count() == 3 and "2 more rules" in camera.inner_text()
    page.screenshot(path=ARTIFACTS / "overview-why.png", full_page=True)  # docs/screenshot-…
    assert page.errors == []
