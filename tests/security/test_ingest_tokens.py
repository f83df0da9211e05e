"""Ingest tokens: created by command, admin or API; hashed; expire; revoked; SDK-compatible."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from access import tokens
from access.models import IngestToken
from models_app.models import MetricPoint
from tests.factories import make_model, make_user

pytestmark = pytest.mark.django_db
METRICS = {"records": [{"name": "loss", "value": 0.5}]}


def create(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_ingest_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_the_command_prints_a_key_once_and_stores_only_its_hash(model):
    key, note = create("fraud", "--name", "serving", "--expires", "30d")
    token = IngestToken.objects.get()
    assert key.startswith("mwi_") and len(key) > 40
    assert token.key_hash == tokens.hash_key(key) and key not in token.key_hash
    assert key.startswith(token.prefix) and len(token.prefix) < 12
    assert token.expires_at - timezone.now() == pytest.approx(
        timedelta(days=30), abs=timedelta(minutes=1)
    )
    assert 'for model "fraud"' in note


def test_the_command_refuses_an_unknown_model_and_a_bad_expiry(model):
    with pytest.raises(CommandError, match='No model "nope"'):
        create("nope")
    with pytest.raises(CommandError, match="--expires"):
        create("fraud", "--expires", "soon")
    assert not IngestToken.objects.exists()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45s", 45), ("90m", 5400), ("12h", 43200), ("2w", 1209600), ("never", None), ("", None)],
)
def test_expiry_durations(text, seconds):
    now = timezone.now()
    expected = now + timedelta(seconds=seconds) if seconds else None
    assert tokens.parse_expiry(text, now) == expected


def test_a_token_writes_its_model_and_records_when_it_was_used(anon, model):
    key = create("fraud")[0]
    anon.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert anon.post("/api/v1/models/fraud/metrics/", METRICS, format="json").status_code == 201
    assert MetricPoint.objects.filter(model=model).count() == 1
    assert IngestToken.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    ("state", "message"),
    [("expired", "expired"), ("revoked", "revoked"), ("unknown", "Invalid ingest token")],
)
def test_a_dead_token_is_refused_with_the_reason(anon, model, state, message):
    token, key = tokens.create_token(model, "x")
    if state == "expired":
        IngestToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    elif state == "revoked":
        tokens.revoke(token)
    else:
        key = key[:-4] + "AAAA"
    anon.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = anon.post("/api/v1/models/fraud/metrics/", METRICS, format="json")
    assert response.status_code == 401
    assert message in response.json()["detail"]
    assert not MetricPoint.objects.exists()


def test_a_token_cannot_reach_anything_but_its_models_telemetry_writes(anon, model):
    make_model("other")
    anon.credentials(HTTP_AUTHORIZATION=f"Token {create('fraud')[0]}")
    for method, path in [
        ("post", "/api/v1/models/other/metrics/"),
        ("get", "/api/v1/models/fraud/metrics/?name=loss"),
        ("patch", "/api/v1/models/fraud/"),
        ("get", "/api/v1/channels/"),
        ("post", "/api/v1/models/fraud/tokens/"),
    ]:
        response = getattr(anon, method)(path, METRICS, format="json")
        assert response.status_code == 403, path
        assert 'only send telemetry to model "fraud"' in response.json()["detail"]


def test_a_staff_creators_token_gets_none_of_the_creators_rights(anon, model):
    staff = make_user("root", staff=True)
    anon.credentials(HTTP_AUTHORIZATION=f"Token {tokens.create_token(model, 'x', staff)[1]}")
    assert anon.get("/api/v1/channels/").status_code == 403
    assert anon.get("/api/v1/models/").status_code == 403


def test_the_api_answers_the_key_once_and_revokes(api, model):
    created = api.post(
        "/api/v1/models/fraud/tokens/", {"name": "batch", "expires": "2w"}, format="json"
    )
    assert created.status_code == 201
    key = created.json()["key"]
    listed = api.get("/api/v1/models/fraud/tokens/").json()
    assert [t["key"] for t in listed] == [None] and listed[0]["prefix"] == key[:10]
    assert api.post(
        "/api/v1/models/fraud/tokens/", {"name": "x", "expires": "later"}, format="json"
    ).json() == {"expires": ['Expected a duration such as "30d", "12h" or "never", got \'later\'.']}
    revoked = api.post(f"/api/v1/models/fraud/tokens/{listed[0]['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    ingest = type(api)()
    ingest.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert ingest.post("/api/v1/models/fraud/metrics/", METRICS, format="json").status_code == 401


def test_the_admin_shows_the_key_once_and_revokes_in_bulk(client, model):
    client.force_login(make_user("root", staff=True, is_superuser=True))
    page = client.post("/admin/access/ingesttoken/add/", {"model": model.pk, "name": "serving"})
    assert page.status_code == 200
    token = IngestToken.objects.get()
    key = page.context["key"]
    assert tokens.hash_key(key) == token.key_hash and key.encode() in page.content
    assert token.created_by.username == "root"
    assert key.encode() not in client.get(f"/admin/access/ingesttoken/{token.pk}/change/").content
    client.post(
        "/admin/access/ingesttoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert token.revoked
    assert b"revoked" in client.get("/admin/access/ingesttoken/").content


@pytest.mark.django_db(transaction=True)
def test_the_sdk_sends_telemetry_with_an_ingest_token(live_server):
    from modelwatch import Client, ModelWatchError

    fraud, _ = make_model("fraud"), make_model("other")
    key = tokens.create_token(fraud, "serving")[1]
    with Client(live_server.url, key, backoff=0.01, max_backoff=0.05) as mw:
        assert mw.model("fraud").log_metrics({"loss": 0.4, "auc": 0.9}, step=1) == 2
        assert mw.model("fraud").log_predictions([{"id": "a", "x": 1.0, "prediction": 1}]) == 1
        with pytest.raises(ModelWatchError) as refused:
            mw.model("other").log_metrics({"loss": 0.4})
    assert refused.value.status == 403
    assert MetricPoint.objects.filter(model=fraud).count() == 2
