"""In headless Chromium: the app's login page, scoped dashboards, and no CSP violation."""

import pytest
from django.utils import timezone

from access import roles
from alerts_app.models import AlertRule
from demo import screening
from models_app.models import Model
from tests.factories import make_model, make_user
from tests.frontend.test_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    chromium,
    sync_orm_beside_playwright,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Recorded by the page itself: any refused script, style, image or connection.
WATCH_CSP = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':'
  + e.lineNumber));
"""


@pytest.fixture
def page(chromium, live_server):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


def log_in(page, base: str, username: str, next_path: str = "/") -> None:
    page.goto(f"{base}{next_path}")
    page.wait_for_url(f"{base}/accounts/login/**")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-12345-xyz")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


def violations(page) -> list[str]:
    return page.evaluate("() => window.__csp")


def figures_drawn(page) -> None:
    page.wait_for_function(
        "() => document.querySelectorAll('[data-src]').length > 0 && [...document"
        ".querySelectorAll('[data-src]')].every(e => e.dataset.state === 'ready' && e._fullData)"
    )


def test_a_viewer_logs_in_on_the_app_page_and_sees_only_their_model_without_csp_errors(
    page, live_server
):
    screening.build_demo(timezone.now())
    watched, hidden = Model.objects.order_by("name").first(), make_model("hidden")
    roles.grant(watched, make_user("reader"), "viewer")
    base = live_server.url
    log_in(page, base, "reader")
    shown = page.eval_on_selector_all("tr[data-model]", "rows => rows.map(r => r.dataset.model)")
    assert shown == [watched.name]
    assert violations(page) == []
    page.click(f"text={watched.name}")
    page.wait_for_url(f"{base}/models/{watched.name}/")
    figures_drawn(page)
    page.screenshot(path=ARTIFACTS / "viewer-model.png", full_page=True)
    page.goto(f"{base}/alerts/")
    page.goto(f"{base}/models/{hidden.name}/")
    assert "Page not found" in page.content()  # frontend/templates/404.html
    assert violations(page) == []
    page.goto(f"{base}/alerts/")
    page.click("nav button[type=submit]")  # log out
    page.wait_for_url(f"{base}/accounts/login/")
    assert [e for e in page.errors if "404" not in e] == []  # the hidden model's page: 404


def test_staff_pages_api_docs_and_admin_raise_no_csp_violation(page, live_server):
    screening.build_demo(timezone.now())
    make_user("ops", staff=True, is_superuser=True)
    base = live_server.url
    log_in(page, base, "ops", "/alerts/")
    for path in [
        "/",
        "/api/v1/docs/",
        "/admin/",
        "/admin/access/ingesttoken/add/",
        "/admin/access/auditentry/",
        f"/admin/models_app/model/{Model.objects.first().pk}/change/",
        "/admin/alerts_app/alertrule/",
        f"/admin/alerts_app/alertrule/{AlertRule.objects.first().pk}/change/",
        "/admin/alerts_app/alert/",
    ]:
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        assert violations(page) == [], path
    page.goto(f"{base}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .opblock")
    assert violations(page) == []
