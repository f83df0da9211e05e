"""A single-valued filter given twice is refused with a 400 naming it (the last value was
read silently before); filters that take several values still take them."""

import pytest
from rest_framework.test import APIClient

from tests.factories import make_alert_rule, make_model, make_token, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {make_token(make_user('root', staff=True))}")
    return api


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/alerts/?rule={a}&rule={b}", "rule"),
        ("/api/v1/alerts/?model=fraud&model=churn", "model"),
        ("/api/v1/rules/?model=fraud&model=churn", "model"),
        ("/api/v1/models/?task=regression&task=binary_classification", "task"),
    ],
)
def test_a_single_valued_filter_given_twice_is_a_400_naming_it(client, path, name):
    model = make_model("fraud")
    a, b = make_alert_rule(model, name="A"), make_alert_rule(model, name="B")
    response = client.get(path.format(a=a.pk, b=b.pk))
    assert response.status_code == 400
    assert response.json() == {name: ["Give this parameter once."]}


@pytest.mark.parametrize("path", ["/api/v1/silences/?active=AAA", "/api/v1/rules/?enabled=maybe"])
def test_a_boolean_filter_that_is_neither_true_nor_false_is_a_400(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert list(response.json().values()) == [['Must be "true" or "false".']]
    name = path.split("?")[1].split("=")[0]
    assert client.get(path.split("=")[0] + "=false").status_code == 200, name


def test_a_multiple_valued_filter_still_takes_several_values(client):
    response = client.get("/api/v1/alerts/?state=firing&state=pending&severity=critical")
    assert response.status_code == 200
