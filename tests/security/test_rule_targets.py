"""A rule may only name a model its author edits, whatever JSON type names it.

The model named "2024" exists, but only staff may see it: `"model": 2024` (a number) must
be refused exactly like a model that does not exist, on create and on update.
"""

import pytest

from alerts_app.models import AlertRule
from tests.factories import make_model
from tests.security.test_role_matrix import RULE

pytestmark = pytest.mark.django_db


@pytest.fixture
def hidden(cast):
    return make_model("2024")


def test_a_number_naming_a_hidden_model_is_refused_like_a_missing_model(cast, hidden):
    editor = cast.api("editor")
    existing = editor.post("/api/v1/rules/", RULE | {"model": 2024}, format="json")
    missing = editor.post("/api/v1/rules/", RULE | {"model": 2025}, format="json")
    assert existing.status_code == missing.status_code == 400
    assert existing.json() == {"model": ["Object with name=2024 does not exist."]}
    assert missing.json() == {"model": ["Object with name=2025 does not exist."]}
    assert not AlertRule.objects.filter(model=hidden).exists()


def test_a_string_naming_a_hidden_model_answers_as_a_number_does(cast, hidden):
    answer = cast.api("editor").post("/api/v1/rules/", RULE | {"model": "2024"}, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"model": ["Object with name=2024 does not exist."]}


def test_patch_cannot_move_a_rule_onto_a_hidden_model_named_by_a_number(cast, hidden):
    answer = cast.api("editor").patch(
        f"/api/v1/rules/{cast.rule.pk}/", {"model": 2024}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json() == {"model": ["Object with name=2024 does not exist."]}
    cast.rule.refresh_from_db()
    assert cast.rule.model == cast.fraud


def test_a_number_naming_a_model_one_views_but_does_not_edit_answers_403(cast, hidden):
    from access import roles

    roles.grant(hidden, cast.users["editor"], "viewer")
    answer = cast.api("editor").post("/api/v1/rules/", RULE | {"model": 2024}, format="json")
    assert answer.status_code == 403
    assert answer.json() == {"detail": 'You need the editor role on model "2024" to do this.'}


def test_a_number_naming_a_model_one_edits_is_that_model(cast, hidden):
    from access import roles

    roles.grant(hidden, cast.users["editor"], "editor")
    answer = cast.api("editor").post("/api/v1/rules/", RULE | {"model": 2024}, format="json")
    assert answer.status_code == 201
    assert answer.json()["model"] == "2024"
    assert AlertRule.objects.get(pk=answer.json()["id"]).model == hidden


@pytest.mark.parametrize("name", [True, 2024.0, ["2024"], {"name": "2024"}, None])
def test_other_json_types_are_no_model_names(cast, hidden, name):
    answer = cast.api("staff").post("/api/v1/rules/", RULE | {"model": name}, format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == ["model"]
    assert not AlertRule.objects.filter(model=hidden).exists()
