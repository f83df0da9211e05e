"""Admin rule and channel pages lead to the dashboards: a rule to its rule page, its
model page and its open alerts; a channel to the rules that use it and its deliveries."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from alerts_app import lifecycle
from alerts_app.models import Alert, Delivery
from tests.alerts_app.results import result
from tests.factories import make_alert_rule, make_channel, make_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123-xyz")
    client.force_login(admin)
    return client


def fire(rule) -> Alert:
    lifecycle.apply_result(rule, result(rule), timezone.now())
    return Alert.objects.get(rule=rule)


def test_a_rule_page_links_its_rule_page_model_page_and_open_alerts(staff, model):
    rule = make_alert_rule(model)
    firing = fire(rule)
    quiet = make_alert_rule(model, name="quiet")
    page = staff.get(f"/admin/alerts_app/alertrule/{rule.id}/change/").content.decode()
    assert f'<a href="/rules/{rule.id}/">Rule page</a>' in page
    assert '<a href="/models/fraud/">Model page (fraud)</a>' in page
    assert f'<li><a href="/alerts/{firing.id}/">Alert #{firing.id}</a>: firing since' in page
    page = staff.get(f"/admin/alerts_app/alertrule/{quiet.id}/change/").content.decode()
    assert "No pending or firing alert." in page and 'href="/alerts/' not in page


def test_a_resolved_alert_is_not_listed_as_open(staff, model):
    rule = make_alert_rule(model)
    alert = fire(rule)
    lifecycle.apply_result(rule, result(rule, "ok", value=0.1), timezone.now())
    assert Alert.objects.get(id=alert.id).state == "resolved"
    page = staff.get(f"/admin/alerts_app/alertrule/{rule.id}/change/").content.decode()
    assert f'href="/alerts/{alert.id}/"' not in page
    assert "No pending or firing alert." in page


def test_a_channel_page_links_the_rules_that_use_it_and_its_deliveries(staff, model):
    channel, other = make_channel(), make_channel(name="other")
    churn = make_model("churn")
    rules = [
        make_alert_rule(model, name="loss", channels=[channel]),
        make_alert_rule(churn, name="churn loss", channels=[channel]),
        make_alert_rule(model, name="elsewhere", channels=[other]),
    ]
    alert = fire(rules[0])
    delivery = Delivery.objects.get(channel=channel)
    page = staff.get(f"/admin/alerts_app/channel/{channel.id}/change/").content.decode()
    for rule in rules[:2]:
        assert f'<a href="/rules/{rule.id}/">rule page</a>' in page
        assert f'<a href="/admin/alerts_app/alertrule/{rule.id}/change/">edit</a>' in page
    assert "churn loss on churn" in page and "loss on fraud" in page
    assert f'href="/rules/{rules[2].id}/"' not in page
    assert f'firing of <a href="/alerts/{alert.id}/">alert #{alert.id}</a> (loss)' in page
    assert delivery.status in page
    every = f"/admin/alerts_app/delivery/?channel__id__exact={channel.id}"
    assert f'<a href="{every}">All deliveries of this channel</a>' in page
    assert staff.get(every).status_code == 200


def test_a_new_channel_has_no_usage_section(staff):
    page = staff.get("/admin/alerts_app/channel/add/").content.decode()
    assert "Where it is used" not in page


def test_an_unused_channel_says_so(staff):
    channel = make_channel()
    page = staff.get(f"/admin/alerts_app/channel/{channel.id}/change/").content.decode()
    assert "No rule sends to this channel." in page
    assert "Nothing sent to this channel yet." in page


def test_the_dashboard_links_resolve(staff, model):
    rule = make_alert_rule(model)
    alert = fire(rule)
    for url in (f"/rules/{rule.id}/", "/models/fraud/", f"/alerts/{alert.id}/"):
        assert staff.get(url).status_code == 200, url
