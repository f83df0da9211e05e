"""Every principal against every endpoint: the answer each one gets (docs/security.md).

Columns: anonymous, outsider (admin of another model only), viewer, editor, model admin
(of "fraud"), staff, and ingest tokens: for "fraud", for "other", expired, revoked.
A model one may not view answers 404 (its existence is not revealed); a visible model
without the role answers 403; an ingest token writes its own model's telemetry only.
"""

import pytest
from django.db import transaction

from tests.factories import make_channel, make_model
from tests.security.conftest import PRINCIPALS, Cast, make_cast

pytestmark = pytest.mark.django_db

METRICS = {"records": [{"name": "loss", "value": 0.5}]}
PREDICTIONS = {"records": [{"id": "p1", "features": {"x": 1.5}, "prediction": 1}]}
LABELS = {"records": [{"id": "p1", "label": 1}]}
REFERENCE = {"records": [{"x": float(i)} for i in range(20)]}
PARAMETERS = {"records": [{"tensor": "w", "mean": 0, "std": 1, "min": -1, "max": 1,
                           "l2_norm": 3}]}
RULE = {"name": "r2", "model": "fraud", "kind": "metric_threshold",
        "config": {"metric": "loss", "aggregation": "avg", "window": "10m", "operator": ">",
                   "threshold": 0.5}}
CHANNEL = {"name": "c2", "kind": "email", "config": {"address": "ops@example.com"}}

# name, method, path ({rule}, {alert}, {channel} filled in), body,
#   anon outsider viewer editor m-admin staff | ingest other expired revoked
API = [
    ("registry list", "get", "/api/v1/models/", None,
     401, 200, 200, 200, 200, 200, 403, 403, 401, 401),
    ("register a model", "post", "/api/v1/models/", {"name": "new", "task": "other"},
     401, 201, 201, 201, 201, 201, 403, 403, 401, 401),
    ("registry read", "get", "/api/v1/models/fraud/", None,
     401, 404, 200, 200, 200, 200, 403, 403, 401, 401),
    ("registry update", "patch", "/api/v1/models/fraud/", {"description": "new"},
     401, 404, 403, 403, 200, 200, 403, 403, 401, 401),
    ("registry delete", "delete", "/api/v1/models/fraud/", None,
     401, 404, 403, 403, 204, 204, 403, 403, 401, 401),
    ("unknown model", "get", "/api/v1/models/nope/", None,
     401, 404, 404, 404, 404, 404, 403, 403, 401, 401),
    ("versions list", "get", "/api/v1/models/fraud/versions/", None,
     401, 404, 200, 200, 200, 200, 403, 403, 401, 401),
    ("add a version", "post", "/api/v1/models/fraud/versions/", {"version": "2"},
     401, 404, 403, 201, 201, 201, 403, 403, 401, 401),
    ("write metrics", "post", "/api/v1/models/fraud/metrics/", METRICS,
     401, 404, 403, 201, 201, 201, 201, 403, 401, 401),
    ("write predictions", "post", "/api/v1/models/fraud/predictions/", PREDICTIONS,
     401, 404, 403, 201, 201, 201, 201, 403, 401, 401),
    ("write labels", "post", "/api/v1/models/fraud/labels/", LABELS,
     401, 404, 403, 200, 200, 200, 200, 403, 401, 401),
    ("write reference", "post", "/api/v1/models/fraud/reference/", REFERENCE,
     401, 404, 403, 201, 201, 201, 201, 403, 401, 401),
    ("write parameters", "post", "/api/v1/models/fraud/parameters/", PARAMETERS,
     401, 404, 403, 201, 201, 201, 201, 403, 401, 401),
    ("write metrics of unknown model", "post", "/api/v1/models/nope/metrics/", METRICS,
     401, 404, 404, 404, 404, 404, 403, 403, 401, 401),
    ("read metrics", "get", "/api/v1/models/fraud/metrics/?name=loss", None,
     401, 404, 200, 200, 200, 200, 403, 403, 401, 401),
    ("read reference", "get", "/api/v1/models/fraud/reference/", None,
     401, 404, 404, 404, 404, 404, 403, 403, 401, 401),
    ("health", "get", "/api/v1/models/fraud/health/", None,
     401, 404, 200, 200, 200, 200, 403, 403, 401, 401),
    ("rules list", "get", "/api/v1/rules/", None,
     401, 200, 200, 200, 200, 200, 403, 403, 401, 401),
    ("rule read", "get", "/api/v1/rules/{rule}/", None,
     401, 404, 200, 200, 200, 200, 403, 403, 401, 401),
    ("rule results", "get", "/api/v1/rules/{rule}/results/", None,
     401, 404, 200, 200, 200, 200, 403, 403, 401, 401),
    ("rule create", "post", "/api/v1/rules/", RULE,
     401, 400, 403, 201, 201, 201, 403, 403, 401, 401),
    ("rule update", "patch", "/api/v1/rules/{rule}/", {"enabled": False},
     401, 404, 403, 200, 200, 200, 403, 403, 401, 401),
    ("rule moved to a hidden model", "patch", "/api/v1/rules/{rule}/", {"model": "other"},
     401, 404, 403, 400, 400, 200, 403, 403, 401, 401),
    # A JSON number names a model too ("2024": nobody but staff has a role on it).
    ("rule create on a hidden model named by a number", "post", "/api/v1/rules/",
     RULE | {"model": 2024},
     401, 400, 400, 400, 400, 201, 403, 403, 401, 401),
    ("rule moved to a hidden model named by a number", "patch", "/api/v1/rules/{rule}/",
     {"model": 2024},
     401, 404, 403, 400, 400, 200, 403, 403, 401, 401),
    # Channels: the cast's channel is staff's own; "{shared}" is shared with fraud.
    ("rule create with a staff channel", "post", "/api/v1/rules/",
     RULE | {"channels": ["{channel}"]},
     401, 400, 403, 400, 400, 201, 403, 403, 401, 401),
    ("rule create with a channel shared with the model", "post", "/api/v1/rules/",
     RULE | {"channels": ["{shared}"]},
     401, 400, 403, 201, 201, 201, 403, 403, 401, 401),
    ("rule update adding a staff channel", "patch", "/api/v1/rules/{rule}/",
     {"channels": ["{channel}"]},
     401, 404, 403, 400, 400, 200, 403, 403, 401, 401),
    ("rule create with a missing channel", "post", "/api/v1/rules/",
     RULE | {"channels": [999999]},
     401, 400, 403, 400, 400, 400, 403, 403, 401, 401),
    ("rule delete", "delete", "/api/v1/rules/{rule}/", None,
     401, 404, 403, 204, 204, 204, 403, 403, 401, 401),
    ("evaluate", "post", "/api/v1/rules/{rule}/evaluate/", {"store": False},
     401, 404, 403, 200, 200, 200, 403, 403, 401, 401),
    ("channels list", "get", "/api/v1/channels/", None,
     401, 403, 403, 403, 403, 200, 403, 403, 401, 401),
    ("channel create", "post", "/api/v1/channels/", CHANNEL,
     401, 403, 403, 403, 403, 201, 403, 403, 401, 401),
    ("channel update", "patch", "/api/v1/channels/{channel}/", {"enabled": False},
     401, 403, 403, 403, 403, 200, 403, 403, 401, 401),
    ("alerts list", "get", "/api/v1/alerts/", None,
     401, 200, 200, 200, 200, 200, 403, 403, 401, 401),
    ("alert read", "get", "/api/v1/alerts/{alert}/", None,
     401, 404, 200, 200, 200, 200, 403, 403, 401, 401),
    ("alert transitions", "get", "/api/v1/alerts/{alert}/transitions/", None,
     401, 404, 200, 200, 200, 200, 403, 403, 401, 401),
    ("acknowledge", "post", "/api/v1/alerts/{alert}/acknowledge/", None,
     401, 404, 403, 200, 200, 200, 403, 403, 401, 401),
    ("roles list", "get", "/api/v1/models/fraud/roles/", None,
     401, 404, 403, 403, 200, 200, 403, 403, 401, 401),
    ("grant a role", "post", "/api/v1/models/fraud/roles/", {"user": "outsider", "role": "viewer"},
     401, 404, 403, 403, 201, 201, 403, 403, 401, 401),
    ("grant a role on a hidden model named by digits", "post", "/api/v1/models/2024/roles/",
     {"user": "outsider", "role": "viewer"},
     401, 404, 404, 404, 404, 201, 403, 403, 401, 401),
    ("create an ingest token on a hidden model named by digits", "post",
     "/api/v1/models/2024/tokens/", {"name": "batch"},
     401, 404, 404, 404, 404, 201, 403, 403, 401, 401),
    ("ingest tokens list", "get", "/api/v1/models/fraud/tokens/", None,
     401, 404, 403, 403, 200, 200, 403, 403, 401, 401),
    ("create an ingest token", "post", "/api/v1/models/fraud/tokens/", {"name": "batch"},
     401, 404, 403, 403, 201, 201, 403, 403, 401, 401),
]

# name, method, path, anon outsider viewer editor m-admin staff | ingest other expired revoked
PAGES = [
    ("overview", "get", "/", 302, 200, 200, 200, 200, 200, 302, 302, 302, 302),
    ("model page", "get", "/models/fraud/", 302, 404, 200, 200, 200, 200, 302, 302, 302, 302),
    ("model figure JSON", "get", "/models/fraud/figures/timeline.json",
     401, 404, 200, 200, 200, 200, 401, 401, 401, 401),
    ("alerts page", "get", "/alerts/", 302, 200, 200, 200, 200, 200, 302, 302, 302, 302),
    ("rule page", "get", "/rules/{rule}/", 302, 404, 200, 200, 200, 200, 302, 302, 302, 302),
    ("rule figure JSON", "get", "/rules/{rule}/figures/history.json",
     401, 404, 200, 200, 200, 200, 401, 401, 401, 401),
    ("acknowledge from the page", "post", "/alerts/{alert}/acknowledge/",
     302, 404, 403, 302, 302, 302, 302, 302, 302, 302),
    ("alert page", "get", "/alerts/{alert}/", 302, 404, 200, 200, 200, 200, 302, 302, 302, 302),
    ("alert figure JSON", "get", "/alerts/{alert}/figures/history.json",
     401, 404, 200, 200, 200, 200, 401, 401, 401, 401),
    ("silence from the alert page", "post", "/alerts/{alert}/silence/",
     302, 404, 403, 302, 302, 302, 302, 302, 302, 302),
    ("rules page", "get", "/rules/", 302, 200, 200, 200, 200, 200, 302, 302, 302, 302),
    ("admin site", "get", "/admin/", 302, 302, 302, 302, 302, 200, 302, 302, 302, 302),
]


@pytest.fixture
def cast(db) -> Cast:
    """The shared cast, plus a model named "2024" and a channel shared with "fraud"."""
    cast = make_cast()
    make_model("2024")
    cast.shared = make_channel("fraud-team", kind="email")
    cast.shared.shared_models.add(cast.fraud)
    return cast


def fill(path: str, cast) -> str:
    return path.format(rule=cast.rule.pk, alert=cast.alert.pk, channel=cast.channel.pk,
                       shared=cast.shared.pk)


def fill_body(body, cast):
    """Channel ids ("{channel}", "{shared}") in a body, as integers."""
    if isinstance(body, dict):
        return {key: fill_body(value, cast) for key, value in body.items()}
    if isinstance(body, list):
        return [fill_body(item, cast) for item in body]
    return int(fill(body, cast)) if isinstance(body, str) and body.startswith("{") else body


def answers(cast, send) -> dict[str, int]:
    """Each principal's status code, each request rolled back (a delete hides nothing)."""
    codes = {}
    for principal in PRINCIPALS:
        with transaction.atomic():
            codes[principal] = send(principal)
            transaction.set_rollback(True)
    return codes


@pytest.mark.parametrize("row", API, ids=[row[0] for row in API])
def test_the_api_answers_each_principal_as_the_table_says(row, cast):
    _, method, path, body, *expected = row

    def send(principal: str) -> int:
        client = cast.api(principal)
        return getattr(client, method)(fill(path, cast), fill_body(body, cast),
                                       format="json").status_code

    assert answers(cast, send) == dict(zip(PRINCIPALS, expected, strict=True))


@pytest.mark.parametrize("row", PAGES, ids=[row[0] for row in PAGES])
def test_the_dashboards_answer_each_principal_as_the_table_says(row, cast):
    _, method, path, *expected = row

    def send(principal: str) -> int:
        return getattr(cast.browser(principal), method)(fill(path, cast)).status_code

    assert answers(cast, send) == dict(zip(PRINCIPALS, expected, strict=True))
