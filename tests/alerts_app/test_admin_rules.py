"""The rule admin: kind chooser, a form per kind, its messages, Evaluate now, bulk actions."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.html import escape

from alerts_app.evaluate import EVALUATE_NOW_MEANING
from alerts_app.kinds import KINDS, kind_of
from alerts_app.models import Alert, AlertRule, CheckResult
from models_app.models import MetricPoint
from tests.alerts_app.results import result
from tests.factories import make_alert_rule, make_channel

pytestmark = pytest.mark.django_db
ADD = "/admin/alerts_app/alertrule/add/"
LIST = "/admin/alerts_app/alertrule/"

# The least each kind needs; everything else takes its default.
REQUIRED = {
    "metric_threshold": {"metric": "loss", "threshold": "0.5"},
    "metric_change": {"metric": "accuracy", "max_change_pct": "10"},
    "metric_anomaly": {"metric": "rps"},
    "data_drift": {"features": "age, income", "method": "psi"},
    "prediction_drift": {},
    "data_quality": {"max_missing_rate": "0.2"},
    "performance": {"metric": "accuracy", "threshold": "0.8"},
    "estimated_performance": {"metric": "f1", "threshold": "0.7"},
    "overfitting": {"patience": "3"},
    "underfitting": {"threshold": "0.4"},
    "latency": {"threshold_ms": "250"},
    "error_rate": {"max_rate": "0.05"},
    "no_data": {"window": "15m"},
    "parameter_health": {},
}


@pytest.fixture
def staff(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123-xyz")
    client.force_login(admin)
    client.user = admin
    return client


def form_data(model, kind: str, **overrides) -> dict:
    data = {
        "name": f"{kind} watch",
        "model": model.id,
        "kind": kind,
        "severity": "warning",
        "enabled": "on",
        "interval": "5m",
        "pending_for": "0s",
        "keep_firing_for": "0s",
        "repeat_interval": "4h",
        "results-TOTAL_FORMS": "0",
        "results-INITIAL_FORMS": "0",
    }
    data |= {f"cfg_{key}": value for key, value in REQUIRED[kind].items()}
    return data | overrides


def test_adding_a_rule_starts_by_choosing_its_kind(staff):
    page = staff.get(ADD).content.decode()
    for kind in [k.name for k in KINDS]:
        assert f'href="?kind={kind}"' in page
    assert "Per-feature drift of the inputs vs the reference." in page


def test_the_form_of_a_kind_explains_each_of_its_fields(staff):
    page = staff.get(ADD + "?kind=metric_threshold").content.decode()
    for key in kind_of("metric_threshold").fields:
        assert f'name="cfg_{key}"' in page
    assert "Hysteresis: once firing, clear only on the other side of this value" in page
    assert "Default: 1h." in page  # the window's default, spelled as a duration
    assert "value &lt;operator&gt; threshold" in page  # help is text, not markup
    assert "Metric (required)" in page
    assert 'name="cfg_features"' not in page


@pytest.mark.parametrize("kind", sorted(REQUIRED))
def test_a_rule_of_each_kind_is_created_through_its_form(staff, model, kind):
    channel = make_channel()
    response = staff.post(ADD + f"?kind={kind}", form_data(model, kind, channels=[channel.id]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    rule = AlertRule.objects.get()
    assert (rule.kind, rule.interval, rule.repeat_interval) == (kind, 300, 14400)
    assert rule.created_by == staff.user
    assert list(rule.channels.all()) == [channel]
    assert set(rule.config) == set(kind_of(kind).fields)  # normalised like the API stores it


def test_config_values_are_parsed_like_the_api(staff, model):
    staff.post(
        ADD + "?kind=metric_threshold",
        form_data(
            model,
            "metric_threshold",
            cfg_window="15m",
            cfg_operator="<=",
            cfg_clear_threshold="0.7",
            cfg_threshold="0.6",
        ),
    )
    config = AlertRule.objects.get().config
    assert (
        config["window"],
        config["operator"],
        config["threshold"],
        config["clear_threshold"],
    ) == (900, "<=", 0.6, 0.7)


def test_the_form_takes_threshold_auto_with_k_and_chunk_size(staff, model):
    data = form_data(model, "data_drift", cfg_threshold="auto", cfg_k="2.5", cfg_chunk_size="500")
    staff.post(ADD + "?kind=data_drift", data)
    config = AlertRule.objects.get().config
    assert (config["threshold"], config["k"], config["chunk_size"]) == ("auto", 2.5, 500)


def test_the_form_refuses_auto_where_it_is_not_available(staff, model):
    data = form_data(model, "underfitting", cfg_threshold="auto")
    response = staff.post(ADD + "?kind=underfitting", data)
    assert "Enter a number." in errors_of(response)["cfg_threshold"]  # a number field
    assert not AlertRule.objects.exists()


def errors_of(response) -> dict:
    return response.context["adminform"].form.errors


@pytest.mark.parametrize(
    ("kind", "overrides", "field", "message"),
    [
        ("metric_threshold", {"cfg_metric": ""}, "cfg_metric", "This field is required."),
        (
            "metric_threshold",
            {"cfg_window": "5 parsecs"},
            "cfg_window",
            '"5 parsecs" is not a duration.',
        ),
        (
            "metric_threshold",
            {"cfg_clear_threshold": "0.9"},
            "cfg_clear_threshold",
            "Must be below or equal to the threshold (0.5): it is where the alert clears.",
        ),
        (
            "error_rate",
            {"cfg_max_rate": "3"},
            "cfg_max_rate",
            "Ensure this value is less than or equal to 1.",
        ),
        (
            "metric_threshold",
            {"interval": "30s"},
            "interval",
            "Ensure this value is at least 60 seconds.",
        ),
        (
            "metric_threshold",
            {"cfg_version": "9"},
            "cfg_version",
            'Version "9" of model "fraud" does not exist.',
        ),
    ],
)
def test_a_bad_config_shows_the_fields_message(staff, model, kind, overrides, field, message):
    response = staff.post(ADD + f"?kind={kind}", form_data(model, kind, **overrides))
    assert response.status_code == 200
    assert any(m.startswith(message) for m in errors_of(response)[field]), errors_of(response)
    assert message.split('"')[0] in response.content.decode()
    assert not AlertRule.objects.exists()


def test_editing_shows_the_stored_config_as_written(staff, model):
    rule = make_alert_rule(
        model,
        config={"metric": "loss", "window": 900, "threshold": 0.5, "operator": ">"},
        interval=120,
    )
    page = staff.get(f"{LIST}{rule.id}/change/").content.decode()
    assert 'name="cfg_window" value="15m"' in page
    assert 'name="interval" value="2m"' in page
    assert "Evaluate now" in page


def log_loss(model, value: float) -> None:
    MetricPoint.objects.create(
        model=model,
        version=model.latest_version(),
        name="loss",
        value=value,
        timestamp=timezone.now() - timedelta(minutes=1),
    )


def test_evaluate_now_asks_first_then_stores_the_result_and_fires(staff, model):
    rule = make_alert_rule(model, channels=[make_channel()])
    log_loss(model, 0.9)
    page = staff.get(f"{LIST}{rule.id}/evaluate/").content.decode()
    assert escape(EVALUATE_NOW_MEANING) in page and 'value="Evaluate now"' in page
    assert not CheckResult.objects.exists()  # a GET changes nothing
    page = staff.post(f"{LIST}{rule.id}/evaluate/").content.decode()
    stored = CheckResult.objects.get()
    assert (stored.status, stored.value) == ("breached", 0.9)
    assert Alert.objects.get().state == "firing"
    assert f"result #{stored.id}</a>" in page
    assert "Alert #" in page and "ok → firing</a>: 1 notification(s) queued" in page
    assert (
        "Evaluated 1 rule(s) now: each result is stored in the rule&#x27;s history and applied "
        "to its alerts, as a scheduled evaluation would be. 1 alert(s) changed state; "
        "1 notification(s) queued." in page
    )


def test_evaluate_now_as_a_bulk_action(staff, model):
    rules = [make_alert_rule(model, name=f"r{i}") for i in range(2)]
    response = staff.post(
        LIST, {"action": "evaluate_now", "_selected_action": [r.id for r in rules]}
    )
    page = response.content.decode()
    assert page.count('class="module evaluation"') == 2
    assert "insufficient data" in page
    assert sorted(CheckResult.objects.values_list("rule_id", flat=True)) == [r.id for r in rules]
    assert not Alert.objects.exists()


def test_evaluate_now_shows_an_error_instead_of_crashing_and_stores_nothing(staff, model):
    rule = make_alert_rule(model, config={"metric": "loss"})  # threshold missing
    page = staff.post(f"{LIST}{rule.id}/evaluate/").content.decode()
    assert "Invalid stored config" in page and "Nothing was stored" in page
    assert not CheckResult.objects.exists()


def test_evaluate_now_refuses_a_disabled_rule(staff, model):
    rule = make_alert_rule(model, enabled=False)
    assert 'class="default" disabled>' in staff.get(f"{LIST}{rule.id}/evaluate/").content.decode()
    page = staff.post(f"{LIST}{rule.id}/evaluate/").content.decode()
    assert "is disabled: enable it to evaluate it now" in page
    assert not CheckResult.objects.exists()


def test_bulk_disable_and_enable(staff, model):
    rules = [make_alert_rule(model, name=f"r{i}") for i in range(3)]
    ids = [r.id for r in rules]
    staff.post(LIST, {"action": "disable_rules", "_selected_action": ids})
    assert not AlertRule.objects.filter(enabled=True).exists()
    staff.post(LIST, {"action": "enable_rules", "_selected_action": ids[:2]})
    assert AlertRule.objects.filter(enabled=True).count() == 2


def test_rules_can_be_silenced_from_the_list(staff, model):
    from alerts_app.models import Silence

    rules = [make_alert_rule(model, name=f"r{i}") for i in range(2)]
    staff.post(LIST, {"action": "silence_for_an_hour", "_selected_action": [r.id for r in rules]})
    silences = Silence.objects.order_by("rule_id")
    assert [s.rule for s in silences] == rules
    length = silences[0].ends_at - silences[0].starts_at
    assert length == timedelta(hours=1) and silences[0].created_by == staff.user


def test_the_list_shows_last_result_and_alert_state(staff, model):
    firing = make_alert_rule(model, name="firing-rule")
    from alerts_app import lifecycle

    lifecycle.apply_result(firing, result(firing), timezone.now())
    make_alert_rule(model, name="quiet-rule")
    page = staff.get(LIST).content.decode()
    assert "firing-rule" in page and "never evaluated" in page
    assert '<b class="mw-state mw-state-firing">firing</b>' in page
    assert '<b class="mw-state mw-state-breached">breached</b>' in page


def test_the_change_page_shows_recent_results_inline(staff, model):
    rule = make_alert_rule(model)
    for i in range(12):
        result(rule, "ok", value=i / 100)
    page = staff.get(f"{LIST}{rule.id}/change/").content.decode()
    assert "Recent results (latest 10)" in page
    assert page.count('<td class="field-status_badge">') == 10
