"""The late-label sweep takes a budget of pending labels per model, least recently
checked first (never checked: 1970-01-01), so that no model's labels are left behind
another's."""

import datetime

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("models_app", "0007_idempotency_body_sha256"),
    ]

    operations = [
        migrations.AddField(
            model_name="pendinglabel",
            name="checked_at",
            field=models.DateTimeField(
                default=datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC)),
        ),
        migrations.AddIndex(
            model_name="pendinglabel",
            index=models.Index(fields=["model", "checked_at", "id"], name="pending_label_sweep"),
        ),
    ]
