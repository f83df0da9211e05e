"""`POST /api/v1/rules/backtest/` on the database: the firings it answers are the alerts the
live engine leaves when it evaluates the same rule at the same moments, it stores nothing,
it reads profiles once per hour bucket and agrees with `evaluate_rule` result by result,
and bad input or a hidden model is refused."""

from datetime import datetime, timedelta

import numpy as np
import pytest
from django.apps import apps
from django.utils import timezone
from rest_framework.test import APIClient

from alerts_app import backtest
from alerts_app.evaluate import evaluate_rule
from alerts_app.lifecycle import apply_result
from alerts_app.models import AlertRule, AlertTransition
from alerts_app.rule_config import validate_config
from alerts_app.state import Policy
from models_app.models import MetricPoint
from models_app.profiles import hour_of
from tests.factories import grant_all_models, make_model, make_token, make_user

URL = "/api/v1/rules/backtest/"
DAYS = 3
# hours (counted back from now) whose loss is high; one short blip and a dip to 0.4
HIGH = set(range(60, 66)) | {50} | set(range(20, 30)) | {40, 41}
DIP = {25}  # 0.4: no breach, but not past the clear threshold (0.3) either


def loss_at(hours_back: int) -> float:
    if hours_back in DIP:
        return 0.4
    return 0.9 if hours_back in HIGH else 0.1


@pytest.fixture
def history(model):
    """A point every 10 minutes over the last DAYS days and a bit."""
    now = timezone.now()
    version = model.versions.get()
    MetricPoint.objects.bulk_create(
        MetricPoint(
            model=model,
            version=version,
            name="loss",
            value=loss_at(minutes // 60),
            timestamp=now - timedelta(minutes=minutes),
        )
        for minutes in range(0, (DAYS * 24 + 2) * 60, 10)
    )
    return model


RULE = {
    "name": "loss too high",
    "model": "fraud",
    "kind": "metric_threshold",
    "config": {"metric": "loss", "window": "1h", "threshold": 0.5, "clear_threshold": 0.3},
    "interval": "1h",
    "pending_for": "1h",
    "keep_firing_for": "2h",
}


def alerting_rows() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in apps.get_app_config("alerts_app").get_models()}


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.django_db
def test_firings_match_the_alerts_the_live_engine_leaves_and_nothing_is_stored(api, history):
    before = alerting_rows()
    response = api.post(URL, RULE | {"days": DAYS}, format="json")
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert alerting_rows() == before  # no rule, result, alert, transition or delivery
    assert answer["evaluations"] == DAYS * 24 == len(answer["series"])
    assert len(answer["firings"]) >= 2
    assert answer["summary"].startswith(f"would have fired {len(answer['firings'])} times in")

    rule = AlertRule.objects.create(
        name="live",
        model=history,
        kind="metric_threshold",
        config=RULE["config"],
        interval=3600,
        pending_for=3600,
        keep_firing_for=7200,
    )
    values = []
    for point in answer["series"]:
        at = moment(point["t"])
        result = evaluate_rule(rule, at)
        apply_result(rule, result, at)
        values.append((result.status, result.value))
    assert [(p["status"], p["value"]) for p in answer["series"]] == values
    events = AlertTransition.objects.filter(alert__rule=rule).order_by("created_at")
    started = [t.created_at for t in events if t.event == "firing"]
    resolved = [t.created_at for t in events if t.event == "resolved"]
    assert [moment(f["started_at"]) for f in answer["firings"]] == started
    ended = [moment(f["resolved_at"]) for f in answer["firings"] if f["resolved_at"]]
    assert ended == resolved
    assert all(f["peak"] == 0.9 for f in answer["firings"])


@pytest.mark.django_db
def test_pending_and_keep_firing_change_what_the_endpoint_answers(api, history):
    def firings(**timing) -> int:
        response = api.post(URL, RULE | timing | {"days": DAYS}, format="json")
        assert response.status_code == 200, response.json()
        return len(response.json()["firings"])

    # the blips at 50 h and 40-41 h fire without pending_for; 20-29 h with its dip and
    # 60-65 h fire either way; keep_firing_for 0 lets the dip (no hysteresis) split nothing
    assert firings(pending_for="0s", keep_firing_for="0s") == 4
    assert firings(pending_for="2h", keep_firing_for="0s") == 2
    plain = RULE["config"] | {"clear_threshold": None}
    response = api.post(
        URL, RULE | {"config": plain, "pending_for": "0s", "keep_firing_for": "0s"}, format="json"
    )
    assert len(response.json()["firings"]) == 5  # the dip at 25 h resolves, 24 h fires again


@pytest.mark.django_db
def test_drift_replay_reads_the_history_a_day_at_a_time_and_equals_evaluate_rule(api, model):
    rng = np.random.default_rng(5)
    now = timezone.now().replace(microsecond=0)
    reference = [
        {"x": float(v), "c": str(k)}
        for v, k in zip(rng.normal(0, 1, 600), rng.integers(0, 3, 600), strict=True)
    ]
    assert api.post(
        "/api/v1/models/fraud/reference/", {"records": reference}, format="json"
    ).status_code in (200, 201)
    records = []
    for hour in range(8):
        shift = 1.5 if hour in (2, 3, 4) else 0.0
        for i in range(60):
            records.append(
                {
                    "timestamp": (now - timedelta(hours=hour, seconds=1 + i * 59)).isoformat(),
                    "features": {"x": float(rng.normal(shift, 1)), "c": str(rng.integers(0, 3))},
                    "prediction": 1,
                }
            )
    response = api.post("/api/v1/models/fraud/predictions/", {"records": records}, format="json")
    assert response.status_code in (200, 201), response.json()
    rule = AlertRule(
        name="drift",
        model=model,
        kind="data_drift",
        interval=1800,
        config={"features": ["x", "c"], "window": 3600, "min_samples": 10, "correction": "none"},
    )
    times = backtest.evaluation_times(now, rule.interval, 1)[-20:]
    source = backtest.HistorySource()
    config = validate_config(rule.kind, rule.config)
    replayed = [
        backtest.timed_outcome(t, backtest.evaluate_at(rule, config, t, source), True)
        for t in times
    ]
    live = [evaluate_rule(rule, t, store=False) for t in times]
    assert [(o.status, o.value) for o in replayed] == [(r.status, r.value) for r in live]
    # the replay checks once per distinct span of hours and repeats it: the same answers
    shared = backtest.timed_outcomes(rule, times)
    assert [o.at for o in shared] == times
    assert [(o.status, o.value, o.features) for o in shared] == [
        (o.status, o.value, o.features) for o in replayed
    ]
    breached = [o for o in replayed if o.features.get("x") and o.features["x"].status == "breached"]
    assert breached  # the shifted hours drift
    for outcome, result in zip(replayed, live, strict=True):
        verdicts = result.details.get("verdicts") or {}
        assert {k: (v.status, v.value) for k, v in outcome.features.items()} == {
            k: (v["status"], v["value"]) for k, v in verdicts.items()
        }
    first, last = hour_of(times[0] - timedelta(hours=1)), hour_of(times[-1])
    hours = (last - first) // timedelta(hours=1) + 1
    # 9.5 h of evaluations and a 1 h window cover 11 or 12 hour buckets (by the clock's
    # minute): either way one read of READ_HOURS (24)
    assert hours in (11, 12) and source.reads == 1
    answer = backtest.replay(replayed, Policy(), per_feature=True)
    assert "x" in {f["feature"] for f in answer["firings"]}


def post_as(client: APIClient, body: dict):
    return client.post(URL, body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"days": 0}, "days"),
        ({"days": 91}, "days"),
        ({"days": "many"}, "days"),
        ({"days": 30, "interval": "1m"}, "days"),  # 43,200 evaluations
        ({"kind": "no_such_kind"}, "kind"),
        ({"interval": "often"}, "interval"),
        ({"config": {"metric": "loss", "threshold": "high"}}, "config"),
        ({"config": {"threshold": 0.5}}, "config"),
        ({"config": RULE["config"] | {"version": "9"}}, "config"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, history, change, field):
    before = alerting_rows()
    response = post_as(api, RULE | change)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert alerting_rows() == before


@pytest.mark.django_db
def test_a_bad_config_field_is_named_inside_config(api, history):
    response = post_as(api, RULE | {"config": {"metric": "loss", "threshold": "high"}})
    assert list(response.json()["config"]) == ["threshold"]


@pytest.mark.django_db
def test_a_model_the_user_may_not_view_is_404_and_a_viewer_may_backtest(history):
    make_model("other")
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Token {make_token(make_user('bob'))}")
    assert post_as(stranger, RULE | {"days": 1}).status_code == 404
    assert post_as(stranger, RULE | {"model": "nothing-here", "days": 1}).status_code == 404
    viewer = APIClient()
    viewer.credentials(
        HTTP_AUTHORIZATION=f"Token {make_token(grant_all_models(make_user('vic'), 'viewer'))}"
    )
    assert post_as(viewer, RULE | {"days": 1}).status_code == 200


@pytest.mark.django_db
def test_a_browser_session_may_not_post_and_anonymous_is_refused(user, history, anon):
    session = APIClient()
    session.force_login(user)  # a non-staff session only reads over the API
    assert post_as(session, RULE | {"days": 1}).status_code == 403
    assert post_as(anon, RULE | {"days": 1}).status_code in (401, 403)
