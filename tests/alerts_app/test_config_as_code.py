"""manage.py export_config / apply_config: round trip, dry run, idempotence, prune,
secrets, errors by path with the API's messages, all-or-nothing."""

import io

import pytest
import yaml
from django.core.management import CommandError, call_command

from alerts_app.config_io.channels import secret_env_name
from alerts_app.models import AlertRule, Channel
from demo import camera, credit, training
from demo.load import ensure_model
from demo.rules import ensure_rules
from models_app.models import Model, ModelVersion
from tests.factories import make_model

pytestmark = pytest.mark.django_db
SLACK_URL = "https://hooks.slack.com/services/T000/B000/not-a-real-secret"
SLACK_VARIABLE = "MODELWATCH_SECRET_TEAM_SLACK_URL"


@pytest.fixture
def demo_like(settings):
    """The demo's three models, its 22 rules and two channels, plus a Slack channel (a
    secret URL) shared with one model and used by one rule, and a second version."""
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True  # the demo webhook is on 127.0.0.1
    for module in (credit, camera, training):
        ensure_model(module.NAME, module.model_fields())
    models = {m.name: m for m in Model.objects.all()}
    ensure_rules(models)
    ModelVersion.objects.create(model=models["credit-risk"], version="2")
    slack = Channel.objects.create(name="team slack", kind="slack", config={"url": SLACK_URL})
    slack.shared_models.set([models["credit-risk"]])
    AlertRule.objects.get(name="Traffic stopped").channels.add(slack)
    return models


def export(*args) -> str:
    out = io.StringIO()
    call_command("export_config", *args, stdout=out)
    return out.getvalue()


def apply(path, *args) -> str:
    out = io.StringIO()
    call_command("apply_config", str(path), *args, stdout=out)
    return out.getvalue()


def write(tmp_path, text: str, name: str = "config.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def empty_the_server() -> None:
    Model.objects.all().delete()  # and their versions, rules, alerts
    Channel.objects.all().delete()
    assert not AlertRule.objects.exists()


def stamps() -> dict:
    return {
        "models": sorted(Model.objects.values_list("name", "updated_at")),
        "rules": sorted(AlertRule.objects.values_list("id", "updated_at")),
        "channels": sorted(Channel.objects.values_list("id", "name", "config")),
        "versions": ModelVersion.objects.count(),
    }


def test_export_then_apply_on_an_empty_server_exports_the_same_yaml(
    demo_like, tmp_path, monkeypatch
):
    first = export()
    empty_the_server()
    monkeypatch.setenv(SLACK_VARIABLE, SLACK_URL)
    output = apply(write(tmp_path, first))
    assert export() == first
    assert "+ create models credit-risk" in output
    assert "+ create rules credit-risk/Traffic stopped" in output
    assert output.endswith("28 to create, 0 to update, 0 to delete\n")  # 3 + 3 + 22
    assert Channel.objects.get(name="team slack").config == {"url": SLACK_URL}
    assert AlertRule.objects.count() == 22 and ModelVersion.objects.count() == 4


def test_the_export_is_stable_yaml_in_name_order(demo_like):
    text = export()
    document = yaml.safe_load(text)
    assert text == export()
    assert list(document) == [
        "version",
        "models",
        "channels",
        "rules",
        "policies",
        "inhibit_rules",
        "silences",
    ]
    assert [m["name"] for m in document["models"]] == [
        "credit-risk",
        "digits-camera",
        "digits-cnn-training",
    ]
    keys = [(r["model"], r["name"]) for r in document["rules"]]
    assert keys == sorted(keys) and len(keys) == 22
    credit_model = document["models"][0]
    assert credit_model["versions"] == ["1", "2"]
    assert credit_model["tags"] == ["demo", "tabular"]
    assert {"name": "channel", "type": "categorical"}.items() <= credit_model["features"][
        -1
    ].items()
    rule = next(r for r in document["rules"] if r["name"] == "Traffic stopped")
    assert rule["channels"] == ["Demo on-call e-mail", "Demo webhook", "team slack"]
    assert (rule["interval"], rule["repeat_interval"], rule["pending_for"]) == ("1m", "4h", "0s")
    assert rule["config"] == {"source": "predictions", "version": None, "window": "3h"}


def test_secrets_are_never_exported_and_are_named_by_an_environment_variable(demo_like):
    text = export()
    assert SLACK_URL not in text and "not-a-real-secret" not in text
    slack = next(c for c in yaml.safe_load(text)["channels"] if c["name"] == "team slack")
    assert slack["config"] == {}
    assert (
        slack["secret_env"]
        == {"url": SLACK_VARIABLE}
        == {"url": secret_env_name("team slack", "url")}
    )
    assert slack["shared_models"] == ["credit-risk"]


def test_a_second_apply_changes_nothing(demo_like, tmp_path):
    path = write(tmp_path, export())
    before = stamps()
    assert apply(path) == "No changes.\n"
    assert apply(path, "--prune") == "No changes.\n"
    assert stamps() == before


def test_a_dry_run_prints_the_diff_and_changes_nothing(demo_like, tmp_path):
    document = yaml.safe_load(export())
    rule = next(r for r in document["rules"] if r["name"] == "Score drift")
    rule["severity"] = "critical"
    rule["config"]["min_samples"] = 500
    document["models"][0]["description"] = "Edited in git."
    document["rules"] = [r for r in document["rules"] if r["name"] != "p95 latency"]
    document["channels"].append(
        {"name": "ops mail", "kind": "email", "config": {"address": "o@x.io"}}
    )
    path = write(tmp_path, yaml.safe_dump(document))
    before = stamps()
    output = apply(path, "--dry-run", "--prune")
    assert stamps() == before
    assert "~ update rules credit-risk/Score drift" in output
    assert "    severity: 'warning' -> 'critical'" in output
    assert "    config.min_samples: 100 -> 500" in output
    assert "~ update models credit-risk\n    description: " in output
    assert "+ create channels ops mail" in output
    assert "- delete rules credit-risk/p95 latency" in output
    assert "- delete rules digits-camera/p95 latency" in output
    assert output.endswith("1 to create, 2 to update, 2 to delete\nDry run: nothing was changed.\n")
    apply(path, "--prune")
    assert AlertRule.objects.get(name="Score drift").severity == "critical"
    assert not AlertRule.objects.filter(name="p95 latency").exists()
    assert apply(path, "--prune") == "No changes.\n"


def test_without_prune_what_the_file_leaves_out_stays(demo_like, tmp_path):
    document = yaml.safe_load(export())
    document["rules"] = document["rules"][:5]
    del document["channels"]
    path = write(tmp_path, yaml.safe_dump(document))
    assert apply(path) == "No changes.\n"
    output = apply(path, "--prune")
    assert AlertRule.objects.count() == 5 and Channel.objects.count() == 3
    assert output.count("- delete rules ") == 17 and "channels" not in output


def test_a_bad_rule_is_refused_at_its_path_with_the_api_message_and_nothing_is_saved(
    demo_like, tmp_path, api
):
    document = yaml.safe_load(export())
    document["models"].append({"name": "new-model", "task": "regression"})
    f1 = [r["name"] for r in document["rules"]].index("F1 from late labels")
    del document["rules"][f1]["config"]["threshold"]
    document["rules"][5]["channels"] = ["nowhere"]
    document["rules"][6]["interval"] = "1s"
    before = stamps()
    with pytest.raises(CommandError) as refused:
        apply(write(tmp_path, yaml.safe_dump(document)))
    message = str(refused.value)
    assert stamps() == before and not Model.objects.filter(name="new-model").exists()
    rule = document["rules"][f1]
    answer = api.post(
        "/api/v1/rules/",
        {"name": "x", "model": rule["model"], "kind": rule["kind"], "config": rule["config"]},
        format="json",
    ).json()
    assert answer == {"config": {"threshold": ["This field is required."]}}
    assert f"rules[{f1}].config.threshold: This field is required." in message
    assert 'rules[5].channels[0]: Channel "nowhere" does not exist.' in message
    assert "rules[6].interval: Ensure this value is at least 60 seconds." in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("models: [{name: a, task: nope}]", 'models[0].task: "nope" is not a valid choice.'),
        ("models: [{name: a, task: other, colour: red}]", "models[0].colour: Unknown field."),
        ("rules: {}", "rules: Expected a list."),
        ("policy: []", "policy: Unknown section."),
        ("version: 2", "version: Unsupported format version"),
        (
            "models: [{name: a, task: other, description: 2024-01-01}]",
            "models[0].description: Not a JSON value (date)",
        ),
        (
            "models: [{name: a, task: other, versions: [v1, v1, '']}]",
            "models[0].versions[2]: This field may not be blank.",
        ),
        (
            "models: [{name: a, task: other,"
            " features: [{name: x, type: numeric, min: 2, max: 1}]}]",
            "models[0].features[0].min: Must not be greater than max.",
        ),
        (
            "models: [&a {name: a, task: other}, *a]",
            "(file): Aliases (*name) are not accepted (line 1).",
        ),
        ("models: [", "(file): Not valid YAML"),
        (
            "models: [{name: a, task: other, versions: [1, 1.10]}]",
            "models[0].versions[1]: Write this version name in quotes: 1.1 was read as a number.",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_the_path(tmp_path, db, text, expected):
    with pytest.raises(CommandError) as refused:
        apply(write(tmp_path, text))
    assert expected in str(refused.value)
    assert not Model.objects.exists()


def test_two_entries_naming_one_object_are_refused(tmp_path, db):
    text = "models: [{name: a, task: other}, {name: a, task: regression}]"
    with pytest.raises(
        CommandError, match=r"models\[1\]: Names the same object \(\"a\"\) as models\[0\]"
    ):
        apply(write(tmp_path, text))


def test_a_new_channel_needs_its_secret_from_the_environment(tmp_path, db, monkeypatch):
    text = "channels: [{name: s, kind: slack, secret_env: {url: MW_TEST_SLACK}}]"
    monkeypatch.delenv("MW_TEST_SLACK", raising=False)
    with pytest.raises(
        CommandError,
        match=r"channels\[0\].secret_env.url: The environment variable MW_TEST_SLACK is not set",
    ):
        apply(write(tmp_path, text))
    monkeypatch.setenv("MW_TEST_SLACK", SLACK_URL)
    assert (
        apply(write(tmp_path, text))
        == "+ create channels s\n1 to create, 0 to update, 0 to delete\n"
    )


def test_an_existing_channel_keeps_its_secret_unless_the_variable_is_set(tmp_path, db, monkeypatch):
    Channel.objects.create(name="s", kind="slack", config={"url": SLACK_URL})
    text = "channels: [{name: s, kind: slack, secret_env: {url: MW_TEST_SLACK}}]"
    monkeypatch.delenv("MW_TEST_SLACK", raising=False)
    assert apply(write(tmp_path, text)) == "No changes.\n"
    assert apply(write(tmp_path, "channels: [{name: s, kind: slack}]")) == "No changes.\n"
    monkeypatch.setenv("MW_TEST_SLACK", SLACK_URL.replace("not-a-real", "another"))
    output = apply(write(tmp_path, text))
    assert output.startswith("~ update channels s\n    secrets.url: '(secret)' -> '(secret)'\n")
    assert "hooks.slack.com" not in output
    assert Channel.objects.get(name="s").config["url"].endswith("another-secret")


def test_export_of_some_models_holds_their_rules_and_the_channels_they_use(demo_like):
    document = yaml.safe_load(export("--model", "digits-cnn-training"))
    assert [m["name"] for m in document["models"]] == ["digits-cnn-training"]
    assert {r["model"] for r in document["rules"]} == {"digits-cnn-training"}
    assert [c["name"] for c in document["channels"]] == ["Demo on-call e-mail", "Demo webhook"]
    with pytest.raises(CommandError, match="No such model: nope."):
        export("--model", "nope")


def test_export_writes_a_file(demo_like, tmp_path):
    path = tmp_path / "out.yaml"
    call_command("export_config", "-o", str(path))
    assert path.read_text() == export()


def test_a_model_keeps_versions_the_file_does_not_list(tmp_path, db):
    model = make_model("m", version="a")
    ModelVersion.objects.create(model=model, version="b")
    text = "models: [{name: m, task: binary_classification, framework: sklearn, versions: [a, c]}]"
    assert apply(write(tmp_path, text)) == (
        "~ update models m\n"
        "    versions: ['a', 'b'] -> ['a', 'b', 'c']\n"
        "0 to create, 1 to update, 0 to delete\n"
    )


def test_prune_deletes_the_models_and_channels_the_file_does_not_name(demo_like, tmp_path):
    document = yaml.safe_load(export())
    document["models"] = [m for m in document["models"] if m["name"] != "digits-camera"]
    document["rules"] = [r for r in document["rules"] if r["model"] != "digits-camera"]
    document["channels"] = [c for c in document["channels"] if c["name"] != "team slack"]
    rule = next(r for r in document["rules"] if r["name"] == "Traffic stopped")
    rule["channels"].remove("team slack")
    output = apply(write(tmp_path, yaml.safe_dump(document)), "--prune")
    assert sorted(Model.objects.values_list("name", flat=True)) == [
        "credit-risk",
        "digits-cnn-training",
    ]
    assert not Channel.objects.filter(name="team slack").exists()
    assert output.index("- delete rules digits-camera/") < output.index("- delete channels team")
    assert output.index("- delete channels team slack") < output.index("- delete models digits")
    assert output.endswith("0 to create, 1 to update, 8 to delete\n")  # 6 rules, 1, 1


def test_an_entry_as_exported_is_left_alone_and_an_edited_one_is_saved_normalised(tmp_path, db):
    model = make_model("m")
    rule = AlertRule.objects.create(
        model=model, name="r", kind="no_data", config={"window": 600}, interval=60
    )
    document = yaml.safe_load(export())
    assert document["rules"][0]["config"] == {"window": "10m"}
    assert apply(write(tmp_path, yaml.safe_dump(document))) == "No changes.\n"
    document["rules"][0]["config"]["window"] = "20m"
    output = apply(write(tmp_path, yaml.safe_dump(document)))
    assert output == (
        "~ update rules m/r\n"
        "    config.window: '10m' -> '20m'\n"
        "    config.source: None -> 'any'\n"
        "0 to create, 1 to update, 0 to delete\n"
    )
    rule.refresh_from_db()
    assert rule.config == {"window": 1200, "source": "any", "version": None}
    assert apply(write(tmp_path, export())) == "No changes.\n"


def test_the_secret_fields_of_a_kind_include_those_its_transport_declares(monkeypatch):
    from alerts_app.config_io.channels import secret_fields
    from alerts_app.transports import TRANSPORTS

    assert secret_fields("slack") == ("url",) and secret_fields("email") == ()
    monkeypatch.setattr(TRANSPORTS["email"], "secret_fields", frozenset({"token"}), raising=False)
    assert secret_fields("email") == ("token",)


def test_prune_refuses_to_delete_a_rule_the_file_names_with_a_model_it_does_not(tmp_path, db):
    make_model("kept")
    gone = make_model("gone")
    AlertRule.objects.create(model=gone, name="r", kind="no_data", config={"window": 600})
    document = yaml.safe_load(export())
    document["models"] = [m for m in document["models"] if m["name"] == "kept"]
    path = write(tmp_path, yaml.safe_dump(document))
    with pytest.raises(CommandError) as refused:
        apply(path, "--prune")
    assert 'rules: "gone/r" is in the file, but --prune deletes it with what it belongs to' in str(
        refused.value
    )
    assert Model.objects.count() == 2 and AlertRule.objects.count() == 1
    assert apply(path) == "No changes.\n"
