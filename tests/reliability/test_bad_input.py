"""The bad input table of docs/reliability.md, one test per row.

Each bad request gets a 4xx whose body names the field at fault (records by index),
and a count of every row of every ModelWatch table proves that nothing was stored.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from tests.factories import make_alert_rule

pytestmark = pytest.mark.django_db
METRICS = "/api/v1/models/fraud/metrics/"
PREDICTIONS = "/api/v1/models/fraud/predictions/"
PARAMETERS = "/api/v1/models/fraud/parameters/"
LABELS = "/api/v1/models/fraud/labels/"
REFERENCE = "/api/v1/models/fraud/reference/"
LONG = "x" * 5000
ALERTS = "/api/v1/alerts/"
RULES = "/api/v1/rules/"
CHANNELS = "/api/v1/channels/"
TOKENS = "/api/v1/models/fraud/tokens/"
RULE = {
    "name": "r",
    "model": "fraud",
    "kind": "metric_threshold",
    "interval": "5m",
    "config": {"metric": "loss", "window": "10m", "operator": ">", "threshold": 1},
}
STATS = {"tensor": "fc.weight", "mean": 0.0, "std": 1.0, "min": -1.0, "max": 1.0, "l2_norm": 3}


def rows_stored() -> dict[str, int]:
    """Row counts of every table of the ModelWatch apps (and users/tokens)."""
    labels = ("models_app", "alerts_app", "auth", "authtoken")
    return {
        m._meta.label: m.objects.count() for m in apps.get_models() if m._meta.app_label in labels
    }


def metric(**fields) -> dict:
    return {"name": "loss", "value": 0.5} | fields


def prediction(**fields) -> dict:
    return {"features": {"amount": 12.5}, "prediction": 1} | fields


def hook(url: str) -> dict:
    return {"name": "hook", "kind": "webhook", "config": {"url": url}}


def at(path: str) -> tuple:
    """ "records.3.value" -> ("records", "3", "value")."""
    return tuple(path.split("."))


def messages_at(body, path: tuple) -> list[str]:
    for key in path:
        assert isinstance(body, dict) and key in body, f"no {key!r} in {body}"
        body = body[key]
    if isinstance(body, str):  # {"detail": "..."}
        return [body]
    assert isinstance(body, list) and body and all(isinstance(m, str) for m in body), body
    return body


@dataclass
class Row:
    """One row of the table: what is sent and where the answer must point."""

    path: str
    body: object
    field: str  # the error's location in the answer, e.g. "records.3.value"
    says: str = ""  # a piece of the message
    status: int = 400
    raw: bool = False  # body is the exact bytes to send
    query: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)  # e.g. {"HTTP_IDEMPOTENCY_KEY": ...}


TABLE = {
    # wrong types
    "metric value as text": Row(
        METRICS, {"records": [metric(), metric(value="0.5")]}, "records.1.value", "finite number"
    ),
    "metric step as text": Row(
        METRICS, {"records": [metric(step="3")]}, "records.0.step", "integer"
    ),
    "a record that is not an object": Row(
        METRICS, {"records": [metric(), 5]}, "records.1.non_field_errors", "object"
    ),
    "records that is not a list": Row(METRICS, {"records": {"0": metric()}}, "records", "list"),
    "features that is not an object": Row(
        PREDICTIONS, {"records": [prediction(features=[1])]}, "records.0.features", "object"
    ),
    "a score that is not a number": Row(
        PREDICTIONS,
        {"records": [prediction(scores={"0": 0.2, "1": "high"})]},
        "records.0.scores",
        "finite number",
    ),
    "a label that is an object": Row(
        LABELS,
        {"records": [{"id": "a", "label": {"y": 1}}]},
        "records.0.label",
        "string, a number or a boolean",
    ),
    "a model task that does not exist": Row(
        "/api/v1/models/", {"name": "m2", "task": "magic"}, "task", "valid choice"
    ),
    "a stage that is a list": Row(
        METRICS, {"records": [metric(stage=["train"])]}, "records.0.stage", "valid choice"
    ),
    # NaN and infinities: not JSON, the parser names the position
    "a NaN literal": Row(
        METRICS,
        b'{"records": [{"name": "loss", "value": NaN}]}',
        "detail",
        "line 1 column 40",
        raw=True,
    ),
    "an Infinity literal": Row(
        METRICS,
        b'{"records": [{"name": "loss", "value": -Infinity}]}',
        "detail",
        "JSON parse error",
        raw=True,
    ),
    "a number too large for a double": Row(
        PARAMETERS, b'{"records": [{"mean": 1e400}]}', "detail", "infinity", raw=True
    ),
    '"NaN" as a string': Row(
        METRICS, {"records": [metric(value="NaN")]}, "records.0.value", "finite number"
    ),
    # strings over their maximum length
    "a metric name of 5,000 characters": Row(
        METRICS, {"records": [metric(name=LONG)]}, "records.0.name", "no more than 200"
    ),
    "a prediction id of 5,000 characters": Row(
        PREDICTIONS, {"records": [prediction(id=LONG)]}, "records.0.id", "no more than 200"
    ),
    "a tensor name of 5,000 characters": Row(
        PARAMETERS, {"records": [STATS | {"tensor": LONG}]}, "records.0.tensor", "no more than 300"
    ),
    "a batch version of 5,000 characters": Row(
        METRICS, {"version": LONG, "records": [metric()]}, "version", "at most 100"
    ),
    "a model name of 5,000 characters": Row(
        "/api/v1/models/", {"name": LONG, "task": "other"}, "name", "no more than 100"
    ),
    "a version of 5,000 characters": Row(
        "/api/v1/models/fraud/versions/", {"version": LONG}, "version", "no more than 100"
    ),
    "an error text of 20,000 characters": Row(
        PREDICTIONS,
        {"records": [prediction(error="e" * 20000)]},
        "records.0.error",
        "no more than 10000",
    ),
    "a feature key of 5,000 characters": Row(
        PREDICTIONS,
        {"records": [prediction(), prediction(features={LONG: 1.0})]},
        "records.1.features",
        "has 5000 characters; at most 200",
    ),
    "a feature value of 20 MB": Row(
        PREDICTIONS,
        {"records": [prediction(features={"city": "x" * 20_000_000})]},
        "records.0.features",
        'Feature "city" has a value of 20000000 characters; at most 10000.',
    ),
    # the work one batch may cause
    "a record with 1,001 features": Row(
        PREDICTIONS,
        {"records": [prediction(features={f"f{i}": 1.0 for i in range(1001)})]},
        "records.0.features",
        "Too many features: 1001; at most 1000 per record.",
    ),
    "a batch with 10,000 distinct feature keys": Row(
        PREDICTIONS,
        {
            "records": [
                prediction(features={f"r{r}f{i}": 1.0 for i in range(1000)}) for r in range(10)
            ]
        },
        "records",
        "Too many distinct feature keys: 10000; at most 1000 per batch.",
    ),
    "a batch spread over 2,000 hours": Row(
        PREDICTIONS,
        {
            "records": [
                prediction(timestamp=(datetime.now(UTC) - timedelta(hours=h)).isoformat())
                for h in range(2000)
            ]
        },
        "records",
        "The batch would write 12000 profile rows (2000 hour buckets",
    ),
    "a model declaring 1,001 features": Row(
        "/api/v1/models/",
        {
            "name": "m2",
            "task": "other",
            "features": [{"name": f"f{i}", "type": "numeric"} for i in range(1001)],
        },
        "features",
        "at most 1000 per model",
    ),
    "a NUL character in a name": Row(
        METRICS, {"records": [metric(name="lo\x00ss")]}, "records.0.name", "NUL"
    ),
    "a NUL character inside features": Row(
        PREDICTIONS,
        {"records": [prediction(features={"city": "Pa\x00ris"})]},
        "records.0.features.city",
        "NUL",
    ),
    # timestamps
    "a timestamp in the year 9999": Row(
        METRICS,
        {"records": [metric(timestamp="9999-12-31T00:00:00Z")]},
        "records.0.timestamp",
        "out of range",
    ),
    "a timestamp before 1970": Row(
        PREDICTIONS,
        {"records": [prediction(timestamp="1900-01-01T00:00:00Z")]},
        "records.0.timestamp",
        "out of range",
    ),
    "a timestamp two days ahead": Row(
        PARAMETERS,
        {"records": [STATS | {"timestamp": (datetime.now(UTC) + timedelta(days=2)).isoformat()}]},
        "records.0.timestamp",
        "out of range",
    ),
    "a timestamp that is no date": Row(
        METRICS, {"records": [metric(timestamp="2026-13-45")]}, "records.0.timestamp", "ISO-8601"
    ),
    "epoch seconds beyond any date": Row(
        METRICS, {"records": [metric(timestamp=1e20)]}, "records.0.timestamp", "ISO-8601"
    ),
    "a year 1 timestamp whose UTC instant is in year 0": Row(
        PREDICTIONS,
        {"records": [prediction(), prediction(timestamp="0001-01-01T00:00:00+05:00")]},
        "records.1.timestamp",
        "out of range",
    ),
    "a year 9999 timestamp whose UTC instant is in year 10000": Row(
        METRICS,
        {"records": [metric(timestamp="9999-12-31T23:59:59-23:59")]},
        "records.0.timestamp",
        "out of range",
    ),
    # unknown names
    "an unknown version": Row(
        PREDICTIONS,
        {"version": "9", "records": [prediction()]},
        "version",
        'Version "9" does not exist',
    ),
    "an unknown stage": Row(
        METRICS, {"records": [metric(stage="staging")]}, "records.0.stage", "valid choice"
    ),
    "an unknown model": Row(
        "/api/v1/models/nope/metrics/",
        {"records": [metric()]},
        "detail",
        "No Model matches",
        status=404,
    ),
    # the request as a whole
    "an Idempotency-Key over 200 characters": Row(
        LABELS,
        {"records": [{"id": "a", "label": 1}]},
        "Idempotency-Key",
        "at most 200 characters",
        headers={"HTTP_IDEMPOTENCY_KEY": "k" * 201},
    ),
    "an Idempotency-Key with a control character": Row(
        METRICS,
        {"records": [metric()]},
        "Idempotency-Key",
        "printable ASCII",
        headers={"HTTP_IDEMPOTENCY_KEY": "batch\t1"},
    ),
    "a body that is not JSON": Row(
        METRICS, b"loss=0.5", "detail", "Unsupported media type", status=415, raw=True
    ),
    "an empty batch": Row(METRICS, {"records": []}, "records", "may not be empty"),
    "a bad page size": Row(
        "/api/v1/models/", None, "page_size", "positive integer", query={"page_size": "all"}
    ),
    "an empty page number": Row(
        "/api/v1/channels/", None, "page", "positive integer", query={"page": "", "kind": "email"}
    ),
    "a page number that is no number": Row(
        "/api/v1/models/", None, "page", "positive integer", query={"page": "two"}
    ),
    "a boolean filter that is no boolean": Row(
        "/api/v1/rules/", None, "enabled", '"true" or "false"', query={"enabled": "flase"}
    ),
    "an id filter past any integer column": Row(
        ALERTS, None, "rule", "less than or equal", query={"rule": "9223372036854775808"}
    ),
    "an id filter as a float past any integer": Row(
        ALERTS, None, "rule", "whole number", query={"rule": "-5.3415183259312406e+76"}
    ),
    "an id filter of zero": Row(ALERTS, None, "rule", "greater than or equal", query={"rule": "0"}),
    # numbers with thousands of digits, and lifetimes past the calendar
    "a rule interval of 5,000 digits": Row(
        RULES, RULE | {"interval": "9" * 5000 + "s"}, "interval", "at most 31622400 seconds"
    ),
    "a rule window of 5,000 digits": Row(
        RULES,
        RULE | {"config": RULE["config"] | {"window": "9" * 5000}},
        "config.window",
        "at most 31622400 seconds",
    ),
    "a duration in non-ASCII digits": Row(
        RULES, RULE | {"interval": "\u00b2"}, "interval", "not a duration"
    ),
    "an ingest token that expires in 999999999 days": Row(
        TOKENS, {"name": "sdk", "expires": "999999999d"}, "expires", "at most 3650 days"
    ),
    "an ingest token that expires in 5,000 digits of days": Row(
        TOKENS, {"name": "sdk", "expires": "9" * 5000 + "d"}, "expires", "at most 3650 days"
    ),
    # webhook URLs that cannot be read
    "a channel URL with a port past 65535": Row(
        CHANNELS, hook("http://localhost:99999/"), "config.url", "host or port cannot be read"
    ),
    "a channel URL whose port is not a number": Row(
        CHANNELS, hook("http://x:abc/"), "config.url", "host or port cannot be read"
    ),
    "a channel URL with an unclosed IPv6 bracket": Row(
        CHANNELS, hook("http://[::1/"), "config.url", "host or port cannot be read"
    ),
    "a series window that ends before it starts": Row(
        METRICS,
        None,
        "start",
        "before end",
        query={"name": "loss", "start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
    ),
}


def send(api, row: Row):
    if row.body is None:
        return api.get(row.path, row.query)
    if row.raw:
        content_type = "text/plain" if row.status == 415 else "application/json"
        return api.generic("POST", row.path, row.body, content_type=content_type, **row.headers)
    return api.post(row.path, row.body, format="json", **row.headers)


@pytest.mark.parametrize("name", list(TABLE))
def test_each_bad_input_is_refused_naming_the_field_and_nothing_is_stored(api, model, name):
    row = TABLE[name]
    before = rows_stored()
    response = send(api, row)
    assert response.status_code == row.status, response.content
    assert row.says in " ".join(messages_at(response.json(), at(row.field)))
    assert rows_stored() == before


def test_a_100000_record_batch_is_refused_whole(api, model):
    before = rows_stored()
    response = api.post(
        METRICS, {"records": [metric(step=i) for i in range(100_000)]}, format="json"
    )
    assert response.status_code == 400
    assert "no more than 10000" in messages_at(response.json(), ("records",))[0]
    assert rows_stored() == before


TWO_BODIES = {  # two different batches per endpoint that honours Idempotency-Key
    METRICS: [{"records": [metric(step=step)]} for step in (1, 2)],
    PREDICTIONS: [{"records": [prediction(id=key)]} for key in "ab"],
    PARAMETERS: [{"records": [STATS | {"step": step}]} for step in (1, 2)],
    LABELS: [{"records": [{"id": key, "label": 1}]} for key in "ab"],
    REFERENCE: [{"records": [{"x": x}]} for x in (1.0, 2.0)],
}


@pytest.mark.parametrize("path", list(TWO_BODIES))
def test_an_idempotency_key_sent_again_with_another_body_answers_422(api, model, path):
    bodies = TWO_BODIES[path]
    assert api.post(path, bodies[0], format="json", HTTP_IDEMPOTENCY_KEY="k").status_code < 300
    before = rows_stored()
    response = api.post(path, bodies[1], format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422
    assert "different request body" in messages_at(response.json(), ("Idempotency-Key",))[0]
    assert rows_stored() == before


def test_a_body_over_the_size_limit_answers_413(api, model):
    before = rows_stored()
    with override_settings(MODELWATCH_MAX_BODY_BYTES=10_000):
        response = api.post(
            METRICS, {"records": [metric(step=i) for i in range(1000)]}, format="json"
        )
    assert response.status_code == 413 and "10000 bytes" in response.json()["detail"]
    assert rows_stored() == before


def nested(depth: int) -> bytes:
    """A prediction whose feature `x` holds `depth` nested arrays (plus 4 envelope levels)."""
    return (
        b'{"records": [{"prediction": 1, "features": {"x": ' + b"[" * depth + b"]" * depth + b"}}]}"
    )


def test_json_nested_past_what_can_be_stored_is_refused_at_the_feature(api, model):
    before = rows_stored()
    response = api.generic("POST", PREDICTIONS, nested(251), content_type="application/json")
    assert response.status_code == 400
    assert "Nested too deeply" in messages_at(response.json(), at("records.0.features.x"))[0]
    assert rows_stored() == before
    assert (
        api.generic("POST", PREDICTIONS, nested(250), content_type="application/json").status_code
        == 201
    )


def test_json_nested_past_the_parsers_limit_is_refused_with_its_position(api, model):
    before = rows_stored()
    response = api.generic("POST", PREDICTIONS, nested(5000), content_type="application/json")
    assert response.status_code == 400
    assert "depth limit exceeded" in messages_at(response.json(), ("detail",))[0]
    assert rows_stored() == before


def test_a_prediction_id_repeated_inside_a_batch_is_refused_at_the_repeat(api, model):
    before = rows_stored()
    response = api.post(
        PREDICTIONS,
        {"records": [prediction(id="a"), prediction(id="b"), prediction(id="a")]},
        format="json",
    )
    assert response.status_code == 400
    assert messages_at(response.json(), at("records.2.id")) == ["Duplicate id (also at index 0)."]
    assert rows_stored() == before


def test_a_prediction_id_already_stored_refuses_the_whole_second_batch(api, model):
    assert (
        api.post(PREDICTIONS, {"records": [prediction(id="a")]}, format="json").status_code == 201
    )
    before = rows_stored()
    response = api.post(
        PREDICTIONS, {"records": [prediction(id="new"), prediction(id="a")]}, format="json"
    )
    assert response.status_code == 400
    assert "already exists" in messages_at(response.json(), at("records.1.id"))[0]
    assert rows_stored() == before


def upload(api, content: bytes):
    return api.post(REFERENCE, {"file": SimpleUploadedFile("ref.csv", content)}, format="multipart")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"amount,country\n1.5,fr\n2.5\n3.5,de\n", "Row 3 has 1 fields; the header has 2."),
        (b'amount,country\n1.5,"fr\n2.5,de\n', "(line 3): unexpected end of data"),
        (b'amount,country\n1.5,"f"r"\n', "(line 2): ',' expected after '\"'"),
        (b"amount,country\n1.5,f\x00r\n", "Line 2 contains a NUL character."),
        (b"amount,country\n1.5,\xff\xfe\n", "UTF-8"),
    ],
)
def test_a_csv_with_a_broken_row_is_refused_naming_it(api, model, content, says):
    before = rows_stored()
    response = upload(api, content)
    assert response.status_code == 400
    assert says in messages_at(response.json(), ("file",))[0]
    assert rows_stored() == before


WIDE = ",".join(f"f{i}" for i in range(1001)).encode()


@pytest.mark.parametrize(
    ("content", "status", "field", "says"),
    [
        (
            b"x\n1\n2\n3\n4\n",
            413,
            "detail",
            "more than 3 data rows (MODELWATCH_REFERENCE_MAX_ROWS)",
        ),
        (
            WIDE + b"\n" + b",".join([b"1"] * 1001) + b"\n",
            400,
            "file",
            "The header has 1001 columns; at most 1000",
        ),
        (b"amount," + b"n" * 201 + b"\n1,2\n", 400, "file", "has a name of 201 characters"),
    ],
)
def test_a_csv_reference_past_its_limits_is_refused_storing_nothing(
    api, model, settings, content, status, field, says
):
    settings.MODELWATCH_REFERENCE_MAX_ROWS = 3
    before = rows_stored()
    response = upload(api, content)
    assert response.status_code == status
    body = response.json()
    assert says in (body[field] if field == "detail" else body[field][0])
    assert rows_stored() == before


def test_a_semicolon_separated_csv_reference_is_read_with_its_delimiter(api, model):
    response = upload(api, b"x;y\n1;fr\n2;de\n")
    assert response.status_code == 201
    assert set(response.json()["summary"]["features"]) == {"x", "y"}


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"interval": "10s"}, "interval", "Ensure this value is at least 60 seconds."),
        (
            {},
            "model",
            'Model "fraud" already has 2 rules, the most allowed (MODELWATCH_MAX_RULES_PER_MODEL).',
        ),
    ],
)
def test_a_rule_past_the_tenant_limits_is_refused_naming_the_field(
    api, model, settings, body, field, says
):
    settings.MODELWATCH_MAX_RULES_PER_MODEL = 2
    for _ in range(2 if field == "model" else 0):  # the model is full
        make_alert_rule(model)
    before = rows_stored()
    config = {"metric": "loss", "threshold": 1}
    response = api.post(
        "/api/v1/rules/",
        {"name": "r", "model": "fraud", "config": config, "kind": "metric_threshold", **body},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {field: [says]}
    assert rows_stored() == before


@pytest.mark.parametrize(
    ("config", "fields"),
    [
        (
            {
                "metric": "loss",
                "aggregation": "avg",
                "window": "forever",
                "operator": "~",
                "threshold": "high",
            },
            {"window", "operator", "threshold"},
        ),
        ({"aggregation": "avg", "window": "10m", "operator": ">", "threshold": 1}, {"metric"}),
    ],
)
def test_a_malformed_rule_config_is_refused_naming_each_bad_field(api, model, config, fields):
    before = rows_stored()
    response = api.post(
        "/api/v1/rules/",
        {"name": "r", "model": "fraud", "kind": "metric_threshold", "config": config},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["config"]) == fields
    assert rows_stored() == before


def test_a_malformed_config_in_an_update_leaves_the_rule_as_it_was(api, model):
    rule = make_alert_rule(model)
    before = rows_stored()
    response = api.patch(f"/api/v1/rules/{rule.id}/", {"config": {"threshold": []}}, format="json")
    assert response.status_code == 400 and "config" in response.json()
    rule.refresh_from_db()
    assert rule.config["threshold"] == 0.5 and rows_stored() == before


def test_a_batch_over_the_feature_value_limit_is_refused_whole(api, model):
    before = rows_stored()
    ten = {f"f{i}": 1.0 for i in range(10)}
    with override_settings(MODELWATCH_MAX_FEATURE_VALUES=100):
        response = api.post(
            PREDICTIONS, {"records": [prediction(features=ten)] * 11}, format="json"
        )
    assert response.status_code == 400
    assert messages_at(response.json(), ("records",)) == [
        "Too many feature values: 110 (records x their features); at most 100 per batch."
    ]
    assert rows_stored() == before


@pytest.mark.parametrize(
    "kind",
    [
        "data_drift",
        "prediction_drift",
        "data_quality",
        "metric_threshold",
        "no_data",
        "parameter_health",
    ],
)
@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z"]
)
def test_an_evaluation_time_outside_the_calendar_is_refused_naming_at(api, model, kind, moment):
    rule = make_alert_rule(model, kind=kind)
    before = rows_stored()
    response = api.post(f"/api/v1/rules/{rule.id}/evaluate/", {"at": moment}, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {
        "at": ["Must be between 1970-01-01 and a day from now (the evaluation's window ends here)."]
    }
    assert rows_stored() == before


ODD_TIMESTAMPS = [  # ISO-8601 that Python reads and PostgreSQL refuses, and their instant
    ("2025-W48-7T10:00:00Z", datetime(2025, 11, 30, 10, tzinfo=UTC)),
    ("2025-06-01T10:00:00,5Z", datetime(2025, 6, 1, 10, 0, 0, 500000, tzinfo=UTC)),
    ("2025-06-01T10:00:00-23:59", datetime(2025, 6, 2, 9, 59, tzinfo=UTC)),
    ("2025-06-01T10:00:00+05:30:15.5", datetime(2025, 6, 1, 4, 29, 44, 500000, tzinfo=UTC)),
    ("20250601T100000.1234567Z", datetime(2025, 6, 1, 10, 0, 0, 123456, tzinfo=UTC)),
]
STORED = {
    "metrics": "models_app.MetricPoint",
    "predictions": "models_app.Prediction",
    "parameters": "models_app.ParameterStat",
}


@pytest.mark.parametrize(("sent", "instant"), ODD_TIMESTAMPS)
@pytest.mark.parametrize("kind", list(STORED))
def test_an_odd_but_valid_timestamp_is_stored_as_its_utc_instant(api, model, kind, sent, instant):
    record = {"metrics": metric(), "predictions": prediction(), "parameters": dict(STATS)}[kind]
    response = api.post(
        f"/api/v1/models/fraud/{kind}/", {"records": [record | {"timestamp": sent}]}, format="json"
    )
    assert response.status_code == 201, response.content
    stored = apps.get_model(STORED[kind]).objects.get()
    assert stored.timestamp == instant and stored.timestamp.utcoffset() == timedelta(0)
