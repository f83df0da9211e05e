"""The registry over REST: create, list, filter, read, update, delete, versions, auth."""

import pytest

from models_app.models import Model, ModelVersion
from tests.factories import make_model, make_user

pytestmark = pytest.mark.django_db


def test_creating_a_model_answers_201_with_its_first_version(api):
    body = {
        "name": "fraud",
        "task": "binary_classification",
        "version": "2024-01",
        "tags": ["payments"],
        "features": [{"name": "amount", "type": "numeric", "min": 0}],
    }
    response = api.post("/api/v1/models/", body, format="json")
    assert response.status_code == 201
    assert response.json()["versions"][0]["version"] == "2024-01"
    assert response.json()["features"] == [{"name": "amount", "type": "numeric", "min": 0.0}]
    assert ModelVersion.objects.get(model__name="fraud").version == "2024-01"


def test_a_model_without_a_version_gets_version_1(api):
    response = api.post("/api/v1/models/", {"name": "m", "task": "regression"}, format="json")
    assert [v["version"] for v in response.json()["versions"]] == ["1"]


def test_a_duplicate_name_is_refused_with_400(api, model):
    response = api.post(
        "/api/v1/models/", {"name": model.name, "task": "regression"}, format="json"
    )
    assert response.status_code == 400
    assert "name" in response.json()
    assert Model.objects.count() == 1


def test_an_unknown_task_is_refused_with_400(api):
    response = api.post("/api/v1/models/", {"name": "m", "task": "clustering"}, format="json")
    assert response.status_code == 400
    assert "task" in response.json()
    assert not Model.objects.exists()


def test_a_bad_feature_type_names_its_index_and_field(api):
    body = {
        "name": "m",
        "task": "regression",
        "features": [{"name": "a", "type": "numeric"}, {"name": "b", "type": "tensor"}],
    }
    response = api.post("/api/v1/models/", body, format="json")
    assert response.status_code == 400
    assert "type" in response.json()["features"]["1"]
    assert not Model.objects.exists()


def test_a_name_that_is_not_a_slug_is_refused(api):
    response = api.post("/api/v1/models/", {"name": "a b/c", "task": "other"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_the_list_is_paginated_and_filtered_by_task_tag_and_search(api):
    make_model("fraud", tags=["payments", "prod"])
    make_model("churn", task="regression", tags=["crm"], description="customer churn")
    make_model("spam", tags=["prod"])
    names = lambda query: [m["name"] for m in api.get(f"/api/v1/models/{query}").json()["results"]]  # noqa: E731
    assert names("") == ["churn", "fraud", "spam"]
    assert names("?task=regression") == ["churn"]
    assert names("?tag=prod") == ["fraud", "spam"]
    assert names("?search=customer") == ["churn"]
    page = api.get("/api/v1/models/?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_reading_an_unknown_model_answers_404(api):
    assert api.get("/api/v1/models/nope/").status_code == 404


def test_patch_updates_the_description_but_never_the_name(api, model):
    assert (
        api.patch(
            f"/api/v1/models/{model.name}/", {"description": "new"}, format="json"
        ).status_code
        == 200
    )
    assert Model.objects.get().description == "new"
    response = api.patch(f"/api/v1/models/{model.name}/", {"name": "other"}, format="json")
    assert response.status_code == 400
    assert Model.objects.get().name == model.name


def test_delete_removes_the_model_and_its_versions(api, model):
    assert api.delete(f"/api/v1/models/{model.name}/").status_code == 204
    assert not Model.objects.exists() and not ModelVersion.objects.exists()


def test_adding_a_version_answers_201_and_a_duplicate_400(api, model):
    url = f"/api/v1/models/{model.name}/versions/"
    assert api.post(url, {"version": "2", "notes": "retrained"}, format="json").status_code == 201
    response = api.post(url, {"version": "2"}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()
    assert [v["version"] for v in api.get(url).json()["results"]] == ["2", "1"]


@pytest.mark.parametrize("version", [" 2", "2 ", "\u00a0" + "9" * 100])
def test_a_version_is_measured_as_sent_and_refused_with_surrounding_whitespace(api, model, version):
    """The schema's maxLength (100) holds for the value as sent: trimmed first, a
    101-character version with a leading no-break space was stored (found by the fuzzer)."""
    url = f"/api/v1/models/{model.name}/versions/"
    response = api.post(url, {"version": version}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["version"]
    assert ModelVersion.objects.filter(model=model).count() == 1


def test_anonymous_requests_get_401(anon, model):
    assert anon.get("/api/v1/models/").status_code == 401
    assert anon.post("/api/v1/models/", {"name": "x", "task": "other"}).status_code == 401
    assert anon.get(f"/api/v1/models/{model.name}/metrics/?name=a").status_code == 401


def test_a_non_staff_browser_session_may_read_but_not_write(client, model):
    make_user("bob")
    client.login(username="bob", password="pw-12345-xyz")
    assert client.get("/api/v1/models/").status_code == 200
    response = client.post(
        "/api/v1/models/", {"name": "x", "task": "other"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert not Model.objects.filter(name="x").exists()
