"""Profile samples stored uncompressed out of line (PostgreSQL only).

Random float64 values do not compress: `STORAGE EXTERNAL` skips pglz's attempt at every
write, and keeps `substr()` prefix reads of rolled-up samples to the TOAST chunks needed.
"""

from django.db import migrations

COLUMNS = [(table, column) for table in ("models_app_profile", "models_app_dailyprofile")
           for column in ("sample_values", "sample_keys")]


def set_storage(mode: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for table, column in COLUMNS:
                schema_editor.execute(
                    f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE {mode}")
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("models_app", "0005_profile_version_time_indexes"),
    ]

    operations = [migrations.RunPython(set_storage("EXTERNAL"), set_storage("EXTENDED"))]
