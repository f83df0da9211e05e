"""The late-label sweep takes a budget of pending labels per model, least recently
checked first, so that no model's labels are left behind another's."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("models_app", "0007_idempotency_body_sha256"),
    ]

    operations = [
        migrations.AddField(
            model_name="pendinglabel",
            name="checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="pendinglabel",
            index=models.Index(
                models.F("model"),
                models.OrderBy(models.F("checked_at"), nulls_first=True),
                models.F("id"),
                name="pending_label_sweep",
            ),
        ),
    ]
