"""The model page in headless Chromium: a click on a drift heatmap cell draws that
feature's distribution for that bucket; cards fill a 1440-px screen; on a phone no Plotly
mode bar sits on the titles and Acknowledge stays on the screen.

Its 1440-px screenshot, test-artifacts/model-1440.png, is docs/screenshot-model.png.
"""

import pytest
from django.utils import timezone

from demo import screening
from tests.frontend.test_browser import (  # noqa: F401 (fixtures)
    ARTIFACTS,
    chromium,
    log_in,
    page,
    sync_orm_beside_playwright,
    wait_for_figures,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CELL_POSITION = """(feature) => {
  const el = document.getElementById('figure-drift');
  el.scrollIntoView();
  const layout = el._fullLayout, heatmap = el._fullData[0], box = el.getBoundingClientRect();
  const row = heatmap.y.indexOf(feature), col = heatmap.x.length - 1;
  return {x: box.left + layout.xaxis._offset + layout.xaxis.l2p(heatmap.x[col]),
          y: box.top + layout.yaxis._offset + layout.yaxis.l2p(row)};
}"""


def test_a_click_on_a_heatmap_cell_draws_that_feature_in_that_bucket(page, live_server):  # noqa: F811 (the fixture imported above)
    screening.build_demo(timezone.now())
    base = live_server.url
    log_in(page, base)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{base}/models/cancer-screening/?range=7d")
    wait_for_figures(page)

    # Cards fill the width: the two cards of a row end where the row ends.
    edges = page.evaluate(
        "[...document.querySelectorAll('.grid.pairs')].map(g => [g.getBoundingClientRect().right,"
        " Math.max(...[...g.children].map(c => c.getBoundingClientRect().right))])"
    )
    assert all(abs(grid - card) <= 1 for grid, card in edges), edges
    page.screenshot(path=ARTIFACTS / "model-1440.png", full_page=True)  # docs/screenshot-model.png

    position = page.evaluate(CELL_POSITION, "mean_radius")
    page.mouse.click(position["x"], position["y"])
    page.wait_for_function(
        "() => { const e = document.getElementById('figure-distribution');"
        " return e.dataset.src.includes('drift-cell') && e.dataset.state === 'ready'"
        " && e._fullLayout && e._fullLayout.meta && e._fullLayout.meta.feature === 'mean_radius'"
        " && e._fullData.length === 2; }"
    )
    meta = page.evaluate("document.getElementById('figure-distribution')._fullLayout.meta")
    assert meta["drifted"] is True and meta["score"] > 1
    title = page.evaluate("document.getElementById('figure-distribution')._fullLayout.title.text")
    assert title.startswith("mean_radius at ") and "(drifted)" in title
    assert page.locator("#feature-select").input_value() == "mean_radius"
    assert "mean_radius in the bucket of" in page.locator("#cell-caption").inner_text()
    page.locator("#distribution-panel").screenshot(path=ARTIFACTS / "model-cell.png")
    assert page.errors == []


def test_on_a_phone_no_mode_bar_covers_a_title_and_acknowledge_is_on_screen(page, live_server):  # noqa: F811 (the fixture imported above)
    screening.build_demo(timezone.now())
    base = live_server.url
    log_in(page, base)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/models/cancer-screening/?range=7d")
    wait_for_figures(page)
    assert page.locator(".modebar").count() == 0
    button = page.locator("[data-region=active-alerts] button[data-ack]").first
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    page.screenshot(path=ARTIFACTS / "model-phone-alerts.png")
    button.click()
    page.wait_for_url(f"{base}/models/cancer-screening/")
    assert "Acknowledged" in page.locator(".messages").inner_text()
    assert page.errors == []
