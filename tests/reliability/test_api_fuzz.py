"""Schemathesis against /api/v1/schema/: every operation, with a staff token.

No answer may be a 5xx, and every answer must match what the schema says (status
code, content type, headers, body); the API must refuse what the schema forbids and
must not answer a request without credentials. Cases run in-process through the WSGI
app inside the test's transaction; path parameters point at real objects three times
in four, so that the operations get past their 404s.

Not checked: that every schema-valid request is accepted (existence, uniqueness and
cross-field rules, such as a rule's `model` naming a registered model, are not what a
schema says), and DRF's deliberate scalar coercions (`"version": 1` read as "1",
`"store": 0` as false), an empty query parameter read as absent (`?severity=`, as
HTML forms send it) and an unknown query parameter ignored are not counted as accepting
bad data.
"""

import re
import zlib

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, seed, settings
from schemathesis.core.mutations import OperatorKind
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CoverageScenario
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from alerts_app.models import Alert, AlertState
from monitor_site.wsgi import application
from tests.factories import make_alert_rule, make_channel, make_model, make_token, make_user
from tests.reliability import budget
from tests.reliability.budget import DERANDOMIZE, examples

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
EXAMPLES = examples(15)
# The same operations again, fuzzing phase only (examples and coverage cases do not
# depend on the seed), with a fresh seed each run: new cases every time, a bounded number.
random_schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
random_schema.config.phases.examples.enabled = False
random_schema.config.phases.coverage.enabled = False
# (schema type, sent type) pairs that DRF's fields read losslessly on purpose.
DRF_COERCIONS = {
    ("string", "integer"),
    ("string", "number"),
    ("integer", "string"),
    ("number", "string"),
    ("number", "integer"),
    ("boolean", "integer"),
    ("boolean", "string"),
}
BODY_TYPE = re.compile(r"^/properties/([^/]+)/type$")
AIMED: set[int] = set()  # ids of the cases whose path parameters were replaced


@pytest.fixture
def in_transaction(db):
    """Keep the test's connection across requests, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def cast(in_transaction, settings) -> dict:
    """A staff token and one object of each kind the paths name. Rate limits are not what
    this test is about (tests/security has them): one operation's examples, sent with and
    without credentials, would pass the anonymous limit and answer 429."""
    settings.MODELWATCH_THROTTLE_ANON = "1000000/minute"
    settings.MODELWATCH_THROTTLE_USER = "1000000/minute"
    token = make_token(make_user("fuzzer", staff=True))
    model = make_model("fraud")
    channel = make_channel("ops-mail", kind="email")
    rule = make_alert_rule(model, channels=[channel])
    alert = Alert.objects.create(rule=rule, fingerprint=f"{rule.id}", state=AlertState.FIRING)
    return {
        "token": token,
        "paths": {"name": "fraud", "id": rule.id},
        "ids": {"/api/v1/channels/": channel.id, "/api/v1/alerts/": alert.id},
    }


def aim_at_real_objects(case, cast: dict) -> None:
    """Replace generated path parameters by real ones, three cases in four (a negative
    path parameter is then no longer sent: see `tolerated`)."""
    if not case.path_parameters or zlib.crc32(repr(case.path_parameters).encode()) % 4 == 0:
        return
    for name in case.path_parameters:
        value = cast["paths"].get(name)
        if name == "id":
            value = next((v for p, v in cast["ids"].items() if case.path.startswith(p)), value)
        case.path_parameters[name] = value
    AIMED.add(id(case))


def coerced(mutation) -> bool:
    return (
        mutation.operator == OperatorKind.CHANGE_TYPE
        and (mutation.original_value, mutation.new_value) in DRF_COERCIONS
    )


def unknown_query_parameter(mutation) -> bool:
    """An extra query parameter: ignored, as every web framework does."""
    return (
        mutation.parameter_location == ParameterLocation.QUERY
        and "additionalProperties" in mutation.keywords
    )


def empty_query(case, location, name) -> bool:
    """`?severity=` is "no filter", as an HTML form sends it."""
    return location == ParameterLocation.QUERY and (case.query or {}).get(name) in ("", [""])


def coerced_body_property(case, data) -> bool:
    """A coverage case sending a number or a string where a body property has another
    scalar type: DRF's fields read "1" as 1 and 1 as "1" on purpose."""
    found = BODY_TYPE.match(getattr(data, "location", None) or "")
    if getattr(data, "scenario", None) != CoverageScenario.INCORRECT_TYPE or not found:
        return False
    value = case.body.get(found.group(1)) if isinstance(case.body, dict) else None
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def tolerated(case) -> bool:
    """Whether what made this case negative is tolerated on purpose (or was not sent)."""
    if case.meta is None:
        return False
    data, aimed = case.meta.phase.data, id(case) in AIMED
    found = list(getattr(data, "mutations", None) or ())
    if found:
        sent = [m for m in found if not (aimed and m.parameter_location == ParameterLocation.PATH)]
        return all(
            coerced(m)
            or unknown_query_parameter(m)
            or empty_query(case, m.parameter_location, m.parameter)
            for m in sent
        )
    location = getattr(data, "parameter_location", None)
    if aimed and location == ParameterLocation.PATH:
        return True
    return coerced_body_property(case, data) or empty_query(case, location, data.parameter)


@schemathesis.check
def rejects_schema_violations(ctx, response, case):
    """negative_data_rejection, less DRF's deliberate scalar coercions."""
    if tolerated(case):
        return None
    return negative_data_rejection(ctx, response, case)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says(case, cast):
    aim_at_real_objects(case, cast)
    case.call_and_validate(
        headers={"Authorization": f"Token {cast['token']}"},
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )


@pytest.fixture
def seed_shown(request):
    """Say the random seed once, before the first random case (and in the summary)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and not budget.RANDOM_RUN:
        reporter.write_line(budget.replay_hint())
    budget.RANDOM_RUN = True


@random_schema.parametrize()
@settings(
    max_examples=examples(budget.RANDOM_EXAMPLES),
    deadline=None,
    derandomize=False,
    suppress_health_check=list(HealthCheck),
)
@seed(budget.SEED)
def test_every_operation_answers_as_its_schema_says_with_a_random_seed(case, cast, seed_shown):
    aim_at_real_objects(case, cast)
    try:
        case.call_and_validate(
            headers={"Authorization": f"Token {cast['token']}"},
            excluded_checks=[positive_data_acceptance, negative_data_rejection],
        )
    except Exception as exc:
        exc.add_note(budget.replay_hint())
        raise
