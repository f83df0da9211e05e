"""Config as code for silences: the silences in force or to come round-trip with rules
named `model/rule name` (never ids), ended ones are left alone, bad ones are refused with
the silences API's messages at their path."""

import io
from datetime import timedelta

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.utils import timezone

from alerts_app.models import Silence
from tests.factories import make_alert_rule, make_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def silenced(db):
    """A silence of one rule made on the alert page (its `rule` column), one by matchers,
    and one that has ended."""
    now = timezone.now().replace(microsecond=0)
    fraud = make_model("fraud")
    rule = make_alert_rule(fraud, name="Input drift", kind="data_drift")
    Silence.objects.create(
        rule=rule, starts_at=now, ends_at=now + timedelta(hours=1), comment="deploying"
    )
    Silence.objects.create(
        matchers={"model": ["fraud"], "severity": ["warning"], "feature": ["age", "income"]},
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
        comment="maintenance window",
    )
    Silence.objects.create(
        model=fraud, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1)
    )
    return rule


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


def test_silences_are_written_with_rules_by_name_and_ended_ones_left_out(silenced):
    written = yaml.safe_load(export())["silences"]
    assert [s["comment"] for s in written] == ["deploying", "maintenance window"]
    assert written[0]["matchers"] == {"rule": ["fraud/Input drift"]}
    assert written[1]["matchers"] == {
        "feature": ["age", "income"],
        "model": ["fraud"],
        "severity": ["warning"],
    }
    assert written[0]["ends_at"].endswith("Z") and "." not in written[0]["ends_at"]


def test_export_apply_on_an_empty_server_export_gives_the_same_yaml(silenced, tmp_path):
    first = export()
    Silence.objects.all().delete()
    output = apply(tmp_path, first)
    assert "+ create silences" in output
    assert export() == first
    assert Silence.objects.count() == 2
    by_rule = Silence.objects.get(comment="deploying")
    assert by_rule.matchers == {"rule": [silenced.pk]}  # the name found the rule's id again
    assert apply(tmp_path, first) == "No changes.\n"


def test_a_new_comment_updates_and_prune_takes_a_silence_the_file_leaves_out(silenced, tmp_path):
    document = yaml.safe_load(export())
    document["silences"][0]["comment"] = "deploying v2"
    del document["silences"][1]
    text = yaml.safe_dump(document, sort_keys=False)
    dry = apply(tmp_path, text, "--dry-run", "--prune")
    assert "comment: 'deploying' -> 'deploying v2'" in dry and "- delete silences" in dry
    assert Silence.objects.filter(comment="deploying").exists()  # the dry run changed nothing
    apply(tmp_path, text, "--prune")
    comments = set(Silence.objects.values_list("comment", flat=True))
    assert comments == {"deploying v2", ""}  # the ended silence is history: not pruned


@pytest.mark.parametrize(
    ("silence", "path", "message"),
    [
        (
            {"matchers": {"rule": ["fraud/Nope"]}, "ends_at": "2099-01-01T00:00:00Z"},
            "silences[0].matchers.rule[0]",
            'Rule "fraud/Nope" does not exist.',
        ),
        (
            {"matchers": {"colour": ["red"]}, "ends_at": "2099-01-01T00:00:00Z"},
            "silences[0].matchers.colour",
            "Unknown matcher.",
        ),
        (
            {
                "matchers": {"model": ["fraud"]},
                "starts_at": "2099-01-02T00:00:00Z",
                "ends_at": "2099-01-01T00:00:00Z",
            },
            "silences[0].ends_at",
            "Must be after the start.",
        ),
    ],
)
def test_a_bad_silence_is_refused_at_its_path(silenced, tmp_path, silence, path, message):
    before = Silence.objects.count()
    with pytest.raises(CommandError) as refused:
        apply(tmp_path, yaml.safe_dump({"version": 1, "silences": [silence]}))
    assert f"{path}: {message}" in str(refused.value)
    assert Silence.objects.count() == before
