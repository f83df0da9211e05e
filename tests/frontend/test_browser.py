"""End to end in headless Chromium (Debian's), driven by Playwright against a live server.

Skips with a message when no browser is installed (`make test` installs it when it can).
Screenshots land in test-artifacts/.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.utils import timezone

from alerts_app.models import Alert
from demo import screening
from tests.factories import make_user

CHROMIUM = os.environ.get("MODELWATCH_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def sync_orm_beside_playwright():
    """Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
    where a loop runs unless told that this (test-only) mix is intended."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def chromium(django_db_setup, django_db_blocker, sync_orm_beside_playwright):
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"no browser at {CHROMIUM}: install Debian's chromium to run browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


def log_in(page, base: str) -> None:
    make_user("ops", staff=True)
    page.goto(f"{base}/admin/login/?next=/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw-12345-xyz")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/")
    page.errors.clear()  # the admin's own page may ask for a favicon; ours are checked


def wait_for_figures(page) -> list[dict]:
    """Wait until every figure has drawn; answer each one's id and trace count."""
    # Arrow functions, not expressions: Playwright evals an expression while polling, which
    # the pages' Content-Security-Policy (no 'unsafe-eval') refuses.
    page.wait_for_function(
        "() => document.querySelectorAll('[data-src]').length > 0 && "
        "[...document.querySelectorAll('[data-src]')].every(e => e.dataset.state === 'ready'"
        " && e._fullData)"
    )
    return page.evaluate(
        "[...document.querySelectorAll('[data-src]')].map(e => ({id: e.id, "
        "traces: e._fullData.length, layout: e._fullLayout.xaxis.type}))"
    )


def test_a_user_logs_in_reads_the_model_changes_the_range_and_acknowledges(page, live_server):
    screening.build_demo(timezone.now())
    base = live_server.url
    log_in(page, base)
    page.screenshot(path=ARTIFACTS / "overview.png", full_page=True)
    assert page.locator('tr[data-model="cancer-screening"] .badge').inner_text() == "critical"

    page.click("text=cancer-screening")
    page.wait_for_url(f"{base}/models/cancer-screening/")
    figures = wait_for_figures(page)
    assert len(figures) >= 10
    assert all(f["traces"] > 0 for f in figures), figures
    page.screenshot(path=ARTIFACTS / "model.png", full_page=True)

    page.click("a[data-range='30d']")
    page.wait_for_url("**range=30d**")
    wait_for_figures(page)
    span_days = page.evaluate(
        "(() => { const r = document.getElementById('figure-timeline')._fullLayout.xaxis.range;"
        " return (new Date(r[1]) - new Date(r[0])) / 864e5; })()"
    )
    assert span_days == pytest.approx(30, abs=0.1)

    page.select_option("#feature-select", "clinic")
    page.wait_for_function(
        "() => document.getElementById('figure-distribution')._fullData[0].x.includes('north')"
    )

    page.goto(f"{base}/alerts/")
    first = page.locator("button[data-ack]").first
    alert_id = int(first.get_attribute("data-ack"))
    first.click()
    page.wait_for_url(f"{base}/alerts/")
    assert "Acknowledged" in page.locator(".messages").inner_text()
    assert Alert.objects.get(pk=alert_id).acknowledged_by.username == "ops"
    page.screenshot(path=ARTIFACTS / "alerts.png", full_page=True)
    assert page.errors == []


def test_the_model_page_refreshes_in_place_and_fits_a_phone(page, live_server):
    screening.build_demo(timezone.now())
    base = live_server.url
    log_in(page, base)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/models/cancer-screening/?range=30d")
    wait_for_figures(page)
    assert page.evaluate("document.body.dataset.live") == "1"
    assert page.evaluate("document.body.dataset.refresh") == "30"
    page.evaluate("window.__marker = 'same page'")

    Alert.objects.filter(state="firing").update(acknowledged_at=timezone.now())
    page.evaluate("window.modelwatchRefresh()")
    page.wait_for_function(
        "() => !document.querySelector('[data-region=active-alerts] button[data-ack]')"
    )
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    figures = wait_for_figures(page)
    assert all(f["traces"] > 0 for f in figures)
    drawn = page.evaluate(
        "[...document.querySelectorAll('[data-src]')].every(e => e.querySelector('.main-svg'))"
    )
    assert drawn, "a refreshed figure lost its plot"

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    page.screenshot(path=ARTIFACTS / "model-phone.png", full_page=True)
    assert page.errors == []


def test_names_shaped_like_links_are_drawn_as_text(page, live_server):
    """Metric, rule and tensor names with Plotly's `<a href>` markup draw no link."""
    from alerts_app.models import AlertRule
    from models_app.models import MetricPoint, ParameterStat

    demo = screening.build_demo(timezone.now())
    evil = '<a href="https://evil.example">{}</a>'
    for name in set(MetricPoint.objects.filter(model=demo).values_list("name", flat=True)):
        MetricPoint.objects.filter(model=demo, name=name).update(name=evil.format(name))
    for rule in AlertRule.objects.filter(model=demo):
        AlertRule.objects.filter(pk=rule.pk).update(name=evil.format(rule.name))
    ParameterStat.objects.filter(model=demo).update(tensor=evil.format("w"))
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/models/cancer-screening/?range=30d")
    wait_for_figures(page)
    links = page.evaluate("document.querySelectorAll('[data-src] svg a').length")
    drawn = page.evaluate(
        "[...document.querySelectorAll('[data-src] svg text')].map(t => t.textContent).join('\\n')"
    )
    page.screenshot(path=ARTIFACTS / "model-hostile-names.png", full_page=True)
    assert links == 0
    assert '<a href="https://evil.example">' in drawn
