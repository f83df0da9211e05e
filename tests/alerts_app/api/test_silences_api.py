"""/api/v1/silences/: create with matchers, list, delete; errors name the field; a user
silences only the models they edit."""

import pytest
from rest_framework.test import APIClient

from access.roles import grant
from alerts_app.models import Silence
from tests.factories import make_alert_rule, make_model, make_token, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/silences/"
END = "2099-01-01T00:00:00Z"


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(user)}")
    return client


@pytest.fixture
def editor(model):
    """Bob edits fraud and views churn."""
    bob = make_user("bob")
    grant(model, bob, "editor")
    grant(make_model("churn"), bob, "viewer")
    return client_for(bob)


def test_an_editor_silences_a_model_by_matchers(editor, model):
    body = {
        "matchers": {"model": ["fraud"], "severity": ["warning"], "feature": ["age"]},
        "ends_at": END,
        "comment": "re-running the age pipeline",
    }
    response = editor.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    shown = response.json()
    assert shown["matchers"] == body["matchers"]
    assert shown["created_by"] == "bob" and shown["active"] is True
    assert Silence.objects.get().matchers == body["matchers"]
    assert [s["id"] for s in editor.get(URL).json()["results"]] == [shown["id"]]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"matchers": {}, "ends_at": END},
            {"matchers": ["Give at least one matcher: model, rule, severity or feature."]},
        ),
        (
            {"matchers": {"model": ["fraud"], "severity": ["urgent"]}, "ends_at": END},
            {"matchers": {"severity": ['"urgent" is not one of info, warning, critical.']}},
        ),
        (
            {"matchers": {"model": ["fraud"], "colour": ["red"]}, "ends_at": END},
            {"matchers": {"colour": ["Unknown matcher. Known: feature, model, rule, severity."]}},
        ),
        (
            {"matchers": {"model": ["fraud"]}, "starts_at": END, "ends_at": "2098-01-01T00:00:00Z"},
            {"ends_at": ["Must be after the start."]},
        ),
        ({"matchers": {"model": ["fraud"]}}, {"ends_at": ["This field is required."]}),
    ],
)
def test_bad_silences_are_answered_400_naming_the_field(editor, body, errors):
    response = editor.post(URL, body, format="json")
    assert (response.status_code, response.json()) == (400, errors)
    assert not Silence.objects.exists()


def test_a_model_one_only_views_cannot_be_silenced(editor):
    response = editor.post(URL, {"matchers": {"model": ["churn"]}, "ends_at": END}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "matchers": {"model": ['You need the editor role on model "churn".']}
    }


def test_a_hidden_model_or_rule_answers_like_a_missing_one(editor):
    hidden = make_model("secret-model")
    rule = make_alert_rule(hidden)
    for matchers, field, message in [
        ({"model": ["secret-model"]}, "model", 'Model "secret-model" does not exist.'),
        ({"model": ["nope"]}, "model", 'Model "nope" does not exist.'),
        ({"rule": [rule.id]}, "rule", f"Rule {rule.id} does not exist."),
    ]:
        response = editor.post(URL, {"matchers": matchers, "ends_at": END}, format="json")
        assert response.json() == {"matchers": {field: [message]}}


def test_silencing_every_model_is_for_staff(editor):
    body = {"matchers": {"severity": ["info"]}, "ends_at": END}
    assert editor.post(URL, body, format="json").status_code == 400
    staff = client_for(make_user("root", staff=True))
    assert staff.post(URL, body, format="json").status_code == 201


def test_a_rule_matcher_silences_within_the_rules_model(editor, model):
    rule = make_alert_rule(model)
    response = editor.post(URL, {"matchers": {"rule": [rule.id]}, "ends_at": END}, format="json")
    assert response.status_code == 201


def test_others_silences_are_seen_only_about_models_one_views(editor, model):
    make_model("secret-model")
    hidden = Silence.objects.create(matchers={"model": ["secret-model"]}, ends_at=END)
    everywhere = Silence.objects.create(matchers={"severity": ["info"]}, ends_at=END)
    legacy = Silence.objects.create(rule=make_alert_rule(model), ends_at=END)
    seen = {s["id"] for s in editor.get(URL).json()["results"]}
    assert seen == {everywhere.id, legacy.id}
    assert editor.get(f"{URL}{hidden.id}/").status_code == 404
    assert editor.get(f"{URL}{legacy.id}/").json()["matchers"] == {"rule": [legacy.rule_id]}


def test_deleting_needs_the_editor_role_on_every_model_concerned(editor, model):
    mine = Silence.objects.create(matchers={"model": ["fraud"]}, ends_at=END)
    viewed = Silence.objects.create(matchers={"model": ["churn"]}, ends_at=END)
    hidden = Silence.objects.create(
        matchers={"model": [make_model("secret-model").name]}, ends_at=END
    )
    assert editor.delete(f"{URL}{viewed.id}/").status_code == 403
    assert editor.delete(f"{URL}{hidden.id}/").status_code == 404
    assert editor.delete(f"{URL}{mine.id}/").status_code == 204
    assert set(Silence.objects.values_list("id", flat=True)) == {viewed.id, hidden.id}


def test_ingest_tokens_and_anonymous_callers_are_refused(anon, model):
    from access.tokens import create_token

    assert anon.get(URL).status_code == 401
    _, key = create_token(model, name="serving")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(URL).status_code == 403
