"""Keep a digest of the request body with each Idempotency-Key.

The same key with a different body is then refused (422) instead of being answered
with the first body's answer. Keys stored before this migration have an empty digest
and replay as before; they are pruned after 7 days.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("models_app", "0006_profile_samples_external_storage"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencykey",
            name="body_sha256",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
    ]
