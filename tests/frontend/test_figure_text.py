"""Names users chose are drawn as text in figures, never as Plotly's HTML subset.

A metric, rule, feature, category, version or tensor named like a link must come out of
every figure endpoint escaped (`&lt;a href=…&gt;`), so Plotly draws the characters and
no clickable `<a>`; the builders' own hover templates keep their markup.
"""

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from alerts_app.models import AlertRule, CheckResult
from frontend.plotly_text import TEMPLATE_KEYS, figure_json
from models_app.models import MetricPoint, ModelVersion, ParameterStat, Prediction
from tests.frontend.test_pages import FIGURES

EVIL = '<a href="https://evil.example">click</a>'
ESCAPED = '&lt;a href="https://evil.example"&gt;click&lt;/a&gt;'


def strings(value, key=None):
    """Every (key, string) pair in a decoded figure."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item, key)


def drawn_text(fig: dict) -> list[str]:
    return [text for key, text in strings(fig) if key not in TEMPLATE_KEYS]


@pytest.fixture
def hostile(watched):
    """The dashboard fixture with a metric, rule, feature, category, version and tensor
    all named like a link."""
    MetricPoint.objects.filter(name="accuracy").update(name=EVIL)
    rule = AlertRule.objects.get(name="accuracy too low")
    AlertRule.objects.filter(pk=rule.pk).update(name=EVIL, config=rule.config | {"metric": EVIL})
    ModelVersion.objects.filter(model=watched).update(version=EVIL)
    ParameterStat.objects.filter(model=watched).update(tensor=EVIL)
    for prediction in Prediction.objects.filter(model=watched):
        city = prediction.features.pop("city")
        prediction.features[EVIL] = EVIL if city == "paris" else city
        prediction.save(update_fields=["features"])
    for result in CheckResult.objects.filter(rule__name="drift"):
        result.details["features"][EVIL] = result.details["features"].pop("age")
        result.save(update_fields=["details"])
    return watched


@pytest.mark.parametrize("name", FIGURES)
def test_no_model_figure_draws_a_user_name_as_markup(browser_client, hostile, frozen_now, name):
    params = {"range": "7d", "name": EVIL, "feature": EVIL}
    response = browser_client.get(f"/models/churn/figures/{name}.json", params)
    assert response.status_code == 200
    texts = drawn_text(response.json())
    assert not [t for t in texts if "<a" in t.lower()], name


def test_the_names_are_still_drawn_escaped(browser_client, hostile, frozen_now):
    metric = browser_client.get(
        "/models/churn/figures/metric.json", {"range": "7d", "name": EVIL}
    ).json()
    assert metric["layout"]["title"]["text"] == ESCAPED
    assert metric["layout"]["yaxis"]["title"]["text"] == ESCAPED
    drift = browser_client.get("/models/churn/figures/drift.json", {"range": "7d"}).json()
    assert ESCAPED in drift["data"][0]["y"]


def test_the_rule_history_escapes_the_rule_name(browser_client, hostile, frozen_now):
    rule = AlertRule.objects.get(name=EVIL)
    fig = browser_client.get(f"/rules/{rule.pk}/figures/history.json?range=7d").json()
    assert fig["layout"]["title"]["text"].startswith(ESCAPED)
    assert not [t for t in drawn_text(fig) if "<a" in t.lower()]


def test_hover_templates_keep_their_markup_and_values_are_escaped():
    fig = go.Figure(
        go.Heatmap(
            z=[[1.0]],
            y=[EVIL],
            x=["t"],
            text=[[EVIL]],
            name=EVIL,
            hovertemplate="%{y}<br>%{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title=EVIL, annotations=[{"text": EVIL}], xaxis={"ticktext": [EVIL], "tickvals": [0]}
    )
    trace = json.loads(figure_json(fig))["data"][0]
    layout = json.loads(figure_json(fig))["layout"]
    assert trace["hovertemplate"] == "%{y}<br>%{text}<extra></extra>"
    assert trace["y"] == [ESCAPED] and trace["text"] == [[ESCAPED]] and trace["name"] == ESCAPED
    assert layout["title"]["text"] == ESCAPED
    assert layout["annotations"][0]["text"] == ESCAPED
    assert layout["xaxis"]["ticktext"] == [ESCAPED]


def test_escaping_keeps_numeric_arrays_as_typed_arrays():
    fig = go.Figure(go.Scatter(x=np.arange(1000.0), y=np.full(1000, 0.5), name="a & b"))
    trace = json.loads(figure_json(fig))["data"][0]
    assert trace["x"]["dtype"] == "f8" and "bdata" in trace["x"]
    assert trace["name"] == "a &amp; b"
