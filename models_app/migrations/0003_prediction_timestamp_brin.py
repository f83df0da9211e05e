"""BRIN index on Prediction.timestamp (PostgreSQL only): see docs/storage.md.

Rows arrive roughly in time order, so a block-range index a few MB in size at hundreds
of millions of rows serves retention's "older than" scans and cross-model time ranges;
`minmax_multi` keeps late rows from widening every range. The B-tree (model, timestamp)
keeps serving one model's windows.
"""

from django.db import migrations

CREATE = ("CREATE INDEX IF NOT EXISTS prediction_time_brin ON models_app_prediction "
          "USING brin (timestamp timestamptz_minmax_multi_ops) WITH (pages_per_range = 32)")
DROP = "DROP INDEX IF EXISTS prediction_time_brin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ("models_app", "0002_profile_samples_tiers_daily"),
    ]

    operations = [migrations.RunPython(create, drop)]
