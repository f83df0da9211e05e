"""Config as code at 1,000 rules: export, apply on an empty server, re-apply, dry run.

A scratch PostgreSQL database gets 25 models with 40 rules each (1,000), 12 channels,
10 notification policies and 2 inhibit rules. In the same run:

1. baseline: the 1,000 rules created through the API's RuleSerializer in one transaction
   (what POST /api/v1/rules/ does per rule, without HTTP);
2. `export_config` of the whole server;
3. `apply_config` of that file on the emptied server (everything created);
4. `apply_config` of the same file again (no change: nothing written);
5. `apply_config --dry-run` of the file with every rule's severity changed (1,000 updates,
   rolled back).

Prints seconds and the ratio of 3. to the baseline. On a shared machine, compare ratios.

    .venv/bin/python bench/config_as_code.py
"""

import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database  # noqa: E402

MODELS, RULES_PER_MODEL, CHANNELS = 25, 40, 12
CONFIG = {"metric": "loss", "window": "10m", "operator": ">", "threshold": 0.5}


def setup_django(env: dict) -> None:
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")})
    import django

    django.setup()


def seed_registry() -> None:
    from alerts_app.models import Channel, InhibitRule, NotificationPolicy
    from models_app.models import Model, ModelVersion

    for index in range(CHANNELS):
        Channel.objects.create(name=f"ch{index}", kind="email", config={"address": "a@x.io"})
    for index in range(MODELS):
        model = Model.objects.create(name=f"m{index}", task="binary_classification")
        model.tags = [f"team{index % 5}"]
        model.save()
        ModelVersion.objects.create(model=model, version="1")
    top = NotificationPolicy.objects.create(name="everything")
    for index in range(9):
        policy = NotificationPolicy.objects.create(
            name=f"team{index}", parent=top, matchers={"tags": [f"team{index % 5}"]}
        )
        policy.channels.set(Channel.objects.filter(name=f"ch{index}"))
    InhibitRule.objects.create(name="crit", source_matchers={"severity": ["critical"]})
    InhibitRule.objects.create(name="off", enabled=False)


def create_rules_through_the_serializer() -> None:
    """The baseline: the API's own validation and save, one rule at a time."""
    from django.db import transaction

    from alerts_app.api.serializers import RuleSerializer
    from alerts_app.config_io.base import CommandLineUser, Context
    from alerts_app.models import Channel

    ids = list(Channel.objects.order_by("name").values_list("pk", flat=True))
    request = Context(user=CommandLineUser(), environ={}).request
    with transaction.atomic():
        for m in range(MODELS):
            for r in range(RULES_PER_MODEL):
                data = {
                    "model": f"m{m}",
                    "name": f"rule {r}",
                    "kind": "metric_threshold",
                    "config": CONFIG,
                    "channels": ids[r % 10 : r % 10 + 2],
                }
                serializer = RuleSerializer(data=data, context={"request": request})
                serializer.is_valid(raise_exception=True)
                serializer.save()


def timed(label: str, action) -> float:
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    print(f"{label:<58} {seconds:7.2f} s")
    return seconds


def command(*args) -> str:
    from django.core.management import call_command

    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def main() -> None:
    _, env = bench_database("mw_bench_config_as_code")
    setup_django(env)
    from alerts_app.models import AlertRule, Channel, InhibitRule, NotificationPolicy
    from models_app.models import Model

    seed_registry()
    baseline = timed(
        "baseline: 1,000 rules through RuleSerializer", create_rules_through_the_serializer
    )
    path = Path("/tmp") / f"modelwatch-config-bench-{os.getpid()}.yaml"
    timed("export_config (whole server)", lambda: command("export_config", "-o", str(path)))
    text = path.read_text()
    Model.objects.all().delete()
    Channel.objects.all().delete()
    NotificationPolicy.objects.all().delete()
    InhibitRule.objects.all().delete()
    applied = timed(
        "apply_config on the empty server (everything created)",
        lambda: command("apply_config", str(path)),
    )
    assert AlertRule.objects.count() == MODELS * RULES_PER_MODEL
    again = {}
    timed(
        "apply_config again (no change)",
        lambda: again.setdefault("out", command("apply_config", str(path))),
    )
    assert again["out"] == "No changes.\n", again["out"][:200]
    path.write_text(text.replace("severity: warning", "severity: critical"))
    timed(
        "apply_config --dry-run, 1,000 rules updated",
        lambda: command("apply_config", str(path), "--dry-run"),
    )
    path.unlink()
    print(f"apply on an empty server / baseline: x{applied / baseline:.2f}")


if __name__ == "__main__":
    main()
