"""A result in the admin reads as a per-feature table and its causes, numbers rounded for
reading; the raw JSON (16-digit p-values) stays folded below."""

import pytest
from django.contrib.auth import get_user_model

from alerts_app import admin_results
from alerts_app.checks.causes import UNBOUNDED, drift_causes, quality_causes
from alerts_app.models import CheckResult
from tests.alerts_app.results import feature_table
from tests.factories import make_alert_rule

# Three tests as a drift check stores them (raw floats, as from scipy).
FEATURES = {
    "age": {
        "method": "psi",
        "statistic": 0.41234567891234,
        "p_value": None,
        "p_value_adjusted": None,
        "threshold": 0.2,
        "drifted": True,
        "kind": "numeric",
    },
    "mean_concave_points": {
        "method": "ks",
        "statistic": 0.3342170000000001,
        "p_value": 1.6e-09,
        "p_value_adjusted": 3.2e-09,
        "threshold": 0.05,
        "drifted": True,
        "kind": "numeric",
    },
    "channel": {
        "method": "chi2",
        "statistic": 4.123456789,
        "p_value": 0.37212345678912345,
        "p_value_adjusted": 0.37212345678912345,
        "threshold": 0.05,
        "drifted": False,
        "kind": "categorical",
    },
}


def test_p_values_read_as_two_digits_or_below_one_in_a_million():
    assert admin_results.p_value(3.2e-9) == "< 1e-6"
    assert admin_results.p_value(0.0037212) == "0.0037"
    assert admin_results.p_value(0.37212345678912345) == "0.37"
    assert admin_results.p_value(1.0) == "1"
    assert admin_results.p_value(None) == "—"


def test_statistics_scores_and_values_are_rounded():
    assert admin_results.number(0.3342170000000001) == "0.3342"
    assert admin_results.number(110.23456) == "110.2"
    assert admin_results.number(0.5) == "0.5"
    assert admin_results.score(6.529412) == "6.53"
    assert admin_results.score(UNBOUNDED) == "unbounded"


def test_drift_rows_are_formatted_and_ranked_by_the_cause_score():
    assert admin_results.drift_rows(FEATURES) == [
        {
            "feature": "mean_concave_points",
            "method": "ks",
            "statistic": "0.3342",
            "p_value": "< 1e-6",
            "threshold": "0.05",
            "drifted": "yes",
            "score": "6.53",
        },
        {
            "feature": "age",
            "method": "psi",
            "statistic": "0.4123",
            "p_value": "—",
            "threshold": "0.2",
            "drifted": "yes",
            "score": "2.06",
        },
        {
            "feature": "channel",
            "method": "chi2",
            "statistic": "4.123",
            "p_value": "0.37",
            "threshold": "0.05",
            "drifted": "no",
            "score": "0.33",
        },
    ]


def test_the_score_column_is_the_score_the_causes_carry():
    causes = {c["feature"]: admin_results.score(c["score"]) for c in drift_causes(FEATURES)}
    rows = {r["feature"]: r["score"] for r in admin_results.drift_rows(FEATURES)}
    assert causes == {"mean_concave_points": "6.53", "age": "2.06"}
    assert {name: rows[name] for name in causes} == causes


def test_a_corrected_p_value_shows_the_raw_one_beside_it():
    test = FEATURES["channel"] | {"p_value": 0.0123, "p_value_adjusted": 0.0369}
    assert admin_results.p_value_cell(test) == "0.037 (raw 0.012)"


def test_quality_rows_show_rates_in_percent_and_the_cause_score():
    features = {
        "income": {
            "missing_rate": 0.2,
            "type_error_rate": 0.0,
            "out_of_range_rate": 0.01,
            "unseen_category_rate": 0.0,
            "rows": 500,
            "violations": ["missing_rate"],
        },
        "age": {
            "missing_rate": 0.0,
            "type_error_rate": 0.0,
            "out_of_range_rate": 0.0,
            "unseen_category_rate": 0.0,
            "rows": 500,
            "violations": [],
        },
    }
    limits = {"missing_rate": 0.05}
    rows = admin_results.quality_rows(features, quality_causes(features, limits))
    assert rows[0] == {
        "feature": "income",
        "rows": "500",
        "rates": ["20%", "0%", "1%", "0%"],
        "breaks": "yes",
        "score": "4",
    }
    assert rows[1]["feature"] == "age" and rows[1]["score"] == "—"
    headers = admin_results.quality_columns({"max_missing_rate": 0.05, "max_type_error_rate": None})
    assert [h for _, h in headers][:2] == ["missing (limit 5%)", "type errors"]


def test_one_line_names_the_top_three_causes():
    causes = drift_causes(FEATURES) + [
        {"summary": f"f{i} (PSI 0.3)", "score": 1.5, "kind": "feature"} for i in range(3)
    ]
    assert admin_results.one_line({"causes": causes}) == (
        "mean_concave_points (KS 0.33); age (PSI 0.41); f0 (PSI 0.3); and 2 more"
    )
    assert admin_results.one_line({"reason": "No reference."}) == "No reference."


# -- the pages --------------------------------------------------------------------------


@pytest.fixture
def staff(client, db):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123-xyz")
    client.force_login(admin)
    return client


def drift_result(model) -> CheckResult:
    rule = make_alert_rule(model, kind="data_drift", config={"method": "auto"})
    return CheckResult.objects.create(
        rule=rule,
        status="breached",
        value=0.6666666666666666,
        threshold=0.5,
        passed=False,
        details={"features": FEATURES, "causes": drift_causes(FEATURES), "skipped": {}},
    )


def shown_part(page: str) -> str:
    """The page without its folded raw JSON."""
    return page.split('<details class="mw-raw">')[0]


@pytest.mark.django_db
def test_the_check_result_page_shows_the_table_and_causes_not_raw_floats(staff, model):
    result = drift_result(model)
    page = staff.get(f"/admin/alerts_app/checkresult/{result.id}/change/").content.decode()
    assert feature_table(page) == [
        ["mean_concave_points", "ks", "0.3342", "< 1e-6", "0.05", "yes", "6.53"],
        ["age", "psi", "0.4123", "—", "0.2", "yes", "2.06"],
        ["channel", "chi2", "4.123", "0.37", "0.05", "no", "0.33"],
    ]
    assert "<li>mean_concave_points (KS 0.33) <small>(score 6.53)</small></li>" in page
    assert "<li>age (PSI 0.41) <small>(score 2.06)</small></li>" in page
    assert '<div class="readonly">0.6667</div>' in page  # the value, rounded too
    assert "0.3342170000000001" not in shown_part(page)
    assert "0.37212345678912345" not in shown_part(page)
    assert "0.37212345678912345" in page  # still there, folded


@pytest.mark.django_db
def test_the_rule_page_lists_recent_results_by_their_causes(staff, model):
    result = drift_result(model)
    page = staff.get(f"/admin/alerts_app/alertrule/{result.rule_id}/change/").content.decode()
    assert "<p>mean_concave_points (KS 0.33); age (PSI 0.41)</p>" in page
    assert "0.3342170000000001" not in page
