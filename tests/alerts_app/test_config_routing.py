"""Config as code for routing: notification policies (a tree, channels by name) and
inhibit rules round-trip, apply in tree order and are refused with the API's messages."""

import io

import pytest
import yaml
from django.core.management import CommandError, call_command

from alerts_app.models import InhibitRule, NotificationPolicy
from tests.factories import make_channel, make_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def routing(db):
    """A tree: a catch-all at the top with a child per team (one with a grandchild),
    created out of name order; two inhibit rules."""
    make_model("fraud")
    pager, mail = make_channel("pager"), make_channel("team mail", kind="email")
    top = NotificationPolicy.objects.create(
        name="z-everything", group_wait=60, group_by=["model", "severity"]
    )
    top.channels.set([mail])
    risk = NotificationPolicy.objects.create(
        name="risk",
        parent=top,
        matchers={"tags": ["risk"], "severity": ["critical"]},
        repeat_interval=3600,
        continue_matching=True,
        mute_timings=[{"weekdays": ["sat", "sun"], "start": "00:00", "end": "24:00"}],
    )
    risk.channels.set([pager, mail])
    night = NotificationPolicy.objects.create(
        name="a-night", parent=risk, matchers={"model": ["fraud"]}, group_interval=600
    )
    night.channels.set([pager])
    NotificationPolicy.objects.create(name="b-catch", parent=top, matchers={"kind": ["no_data"]})
    InhibitRule.objects.create(
        name="critical holds warning",
        source_matchers={"severity": ["critical"]},
        target_matchers={"severity": ["warning"]},
        equal=["model"],
    )
    InhibitRule.objects.create(name="off", enabled=False, target_matchers={"kind": ["latency"]})


def export() -> str:
    out = io.StringIO()
    call_command("export_config", stdout=out)
    return out.getvalue()


def apply(tmp_path, text: str, *args) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    out = io.StringIO()
    call_command("apply_config", str(path), *args, stdout=out)
    return out.getvalue()


def test_policies_are_written_in_tree_order_with_names_for_parents_and_channels(routing):
    document = yaml.safe_load(export())
    assert [(p["name"], p["parent"]) for p in document["policies"]] == [
        ("z-everything", None),
        ("risk", "z-everything"),
        ("a-night", "risk"),
        ("b-catch", "z-everything"),
    ]
    assert document["policies"][1] == {
        "name": "risk",
        "parent": "z-everything",
        "matchers": {"severity": ["critical"], "tags": ["risk"]},
        "channels": ["pager", "team mail"],
        "group_by": None,
        "group_wait": None,
        "group_interval": None,
        "repeat_interval": "1h",
        "continue": True,
        "mute_timings": [{"end": "24:00", "start": "00:00", "weekdays": ["sat", "sun"]}],
    }
    assert document["inhibit_rules"] == [
        {
            "name": "critical holds warning",
            "enabled": True,
            "source_matchers": {"severity": ["critical"]},
            "target_matchers": {"severity": ["warning"]},
            "equal": ["model"],
        },
        {
            "name": "off",
            "enabled": False,
            "source_matchers": {},
            "target_matchers": {"kind": ["latency"]},
            "equal": [],
        },
    ]


def test_export_apply_on_an_empty_server_export_gives_the_same_yaml(routing, tmp_path):
    first = export()
    NotificationPolicy.objects.all().delete()
    InhibitRule.objects.all().delete()
    output = apply(tmp_path, first)
    assert export() == first
    assert output.endswith("6 to create, 0 to update, 0 to delete\n")
    # siblings keep the order routing tries them in: creation order
    top = NotificationPolicy.objects.get(name="z-everything")
    assert list(top.children.order_by("id").values_list("name", flat=True)) == ["risk", "b-catch"]
    assert apply(tmp_path, first) == "No changes.\n"


def test_a_dry_run_shows_policy_changes_and_prune_takes_the_subtree(routing, tmp_path):
    document = yaml.safe_load(export())
    document["policies"][0]["group_wait"] = "2m"
    document["policies"] = [p for p in document["policies"] if p["name"] not in ("risk", "a-night")]
    document["inhibit_rules"] = document["inhibit_rules"][:1]
    text = yaml.safe_dump(document, sort_keys=False)
    output = apply(tmp_path, text, "--dry-run", "--prune")
    assert NotificationPolicy.objects.count() == 4 and InhibitRule.objects.count() == 2
    assert output.startswith("~ update policies z-everything\n    group_wait: '1m' -> '2m'\n")
    assert "- delete inhibit_rules off\n" in output
    assert "- delete policies risk\n" in output and "- delete policies a-night\n" in output
    apply(tmp_path, text, "--prune")
    assert sorted(NotificationPolicy.objects.values_list("name", flat=True)) == [
        "b-catch",
        "z-everything",
    ]
    assert apply(tmp_path, text, "--prune") == "No changes.\n"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({"name": "p", "parent": "nope"}, 'policies[0].parent: Policy "nope" is not in this file.'),
        ({"name": "p", "matchers": {"team": ["x"]}}, 'Unknown matcher "team". Known: model'),
        ({"name": "p", "group_by": ["colour"]}, 'policies[0].group_by: Unknown label "colour"'),
        ({"name": "p", "channels": ["nowhere"]}, 'policies[0].channels[0]: Channel "nowhere"'),
        ({"name": "p", "group_wait": "soon"}, "policies[0].group_wait: "),
    ],
)
def test_a_bad_policy_is_refused_at_its_path(db, tmp_path, policy, expected):
    with pytest.raises(CommandError) as refused:
        apply(tmp_path, yaml.safe_dump({"policies": [policy]}))
    assert expected in str(refused.value)
    assert not NotificationPolicy.objects.exists()


def test_a_parent_must_come_before_its_children(db, tmp_path):
    text = yaml.safe_dump({"policies": [{"name": "child", "parent": "top"}, {"name": "top"}]})
    with pytest.raises(CommandError, match='parent: Policy "top" must come before its children'):
        apply(tmp_path, text)


def test_a_bad_inhibit_rule_is_refused_with_the_api_message(db, tmp_path, settings):
    text = "inhibit_rules: [{name: i, source_matchers: {colour: [red]}, equal: model}]"
    with pytest.raises(CommandError) as refused:
        apply(tmp_path, text)
    assert 'inhibit_rules[0].source_matchers: Unknown matcher "colour"' in str(refused.value)
    assert "inhibit_rules[0].equal: Expected a list of label names." in str(refused.value)


def test_prune_refuses_to_take_a_named_policy_with_its_unnamed_parent(routing, tmp_path):
    document = yaml.safe_load(export())
    document["policies"] = [p for p in document["policies"] if p["name"] != "risk"]
    with pytest.raises(CommandError, match='policies: "a-night" is in the file, but --prune'):
        apply(tmp_path, yaml.safe_dump(document, sort_keys=False), "--prune")
    assert NotificationPolicy.objects.count() == 4
