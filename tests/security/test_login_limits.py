"""Sign-in lockout, throttled 401s, and which forwarded address is believed.

Failed passwords are counted per username and per client address; once either is used
up, even the right password is refused (429 on the login page) until the window ends.
A 401 from the API counts against the address's anonymous budget, and a forged
`X-Forwarded-For` changes nothing unless the peer is a configured trusted proxy.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory, override_settings
from rest_framework.test import APIClient

from access.throttling import client_address
from tests.factories import make_user

PASSWORD = "pw-12345-xyz"  # tests.factories.make_user's


def sign_in(client: Client, username: str, password: str, **headers):
    return client.post("/accounts/login/", {"username": username, "password": password}, **headers)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
@override_settings(MODELWATCH_LOGIN_FAILURES_USER="10/hour")
def test_the_right_password_is_refused_after_ten_wrong_ones():
    make_user("bob")
    client = Client()
    codes = [sign_in(client, "bob", f"guess-{i}").status_code for i in range(10)]
    assert codes == [200] * 9 + [429]  # the tenth failure locks, and says so
    locked = sign_in(client, "bob", PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert 1 <= int(locked["Retry-After"]) <= 3600
    assert not signed_in(client)


@pytest.mark.django_db
@override_settings(MODELWATCH_LOGIN_FAILURES_USER="3/hour")
def test_the_admin_login_is_locked_too():
    make_user("root", staff=True)
    client = Client()
    for _ in range(3):
        client.post("/admin/login/", {"username": "root", "password": "wrong"})
    client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert not signed_in(client)


@pytest.mark.django_db
@override_settings(MODELWATCH_LOGIN_FAILURES_USER="3/hour")
def test_a_successful_sign_in_clears_the_username_count():
    make_user("bob")
    client = Client()
    for _ in range(2):
        sign_in(client, "bob", "wrong")
    assert sign_in(client, "bob", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(2):
        sign_in(client, "bob", "wrong")
    assert sign_in(client, "bob", PASSWORD).status_code == 302


@pytest.mark.django_db
@override_settings(MODELWATCH_LOGIN_FAILURES_USER="off", MODELWATCH_LOGIN_FAILURES_ADDRESS="5/hour")
def test_a_forged_forwarded_address_does_not_reset_the_address_count():
    make_user("bob")
    client = Client()
    for i in range(5):
        sign_in(client, f"user{i}", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    answer = sign_in(client, "bob", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert answer.status_code == 429 and not signed_in(client)


@pytest.mark.django_db
@override_settings(
    MODELWATCH_LOGIN_FAILURES_USER="off",
    MODELWATCH_LOGIN_FAILURES_ADDRESS="2/hour",
    MODELWATCH_TRUSTED_PROXIES="127.0.0.1",
)
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_count():
    make_user("bob")
    client = Client(REMOTE_ADDR="127.0.0.1")
    for _ in range(2):
        sign_in(client, "mallory", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert sign_in(client, "bob", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    assert sign_in(client, "bob", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 302


@pytest.mark.django_db
@override_settings(MODELWATCH_THROTTLE_ANON="3/minute")
def test_401s_count_against_the_anonymous_limit():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    codes = [client.get("/api/v1/models/").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    limited = client.get("/api/v1/models/", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert limited.status_code == 429 and 1 <= int(limited["Retry-After"]) <= 61
    assert limited.json()["detail"].startswith("Request was throttled.")


@pytest.mark.django_db
@override_settings(MODELWATCH_THROTTLE_ANON="2/minute")
def test_rotating_x_forwarded_for_does_not_escape_the_anonymous_limit():
    client = APIClient()
    codes = [
        client.get("/api/v1/schema/", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]


def request_from(peer: str, forwarded: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=peer, **headers)


@override_settings(MODELWATCH_TRUSTED_PROXIES="")
def test_without_trusted_proxies_the_peer_is_the_client():
    assert client_address(request_from("192.0.2.1", "203.0.113.5")) == "192.0.2.1"


@override_settings(MODELWATCH_TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1")
def test_a_trusted_proxy_chain_yields_the_right_most_untrusted_hop():
    forged_then_real = "198.51.100.66, 203.0.113.5, 10.1.2.3"
    assert client_address(request_from("127.0.0.1", forged_then_real)) == "203.0.113.5"
    assert client_address(request_from("192.0.2.1", forged_then_real)) == "192.0.2.1"
    assert client_address(request_from("127.0.0.1", "not-an-ip")) == "127.0.0.1"
    assert client_address(request_from("127.0.0.1")) == "127.0.0.1"


def test_a_malformed_trusted_proxy_list_stops_the_process(monkeypatch):
    from monitor_site import settings

    monkeypatch.setenv("MODELWATCH_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")
    with pytest.raises(ImproperlyConfigured, match="proxy.internal"):
        settings.envnetworks("MODELWATCH_TRUSTED_PROXIES", "")
