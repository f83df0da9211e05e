from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("alerts_app", "0008_rule_kind_choices_from_declarations"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="acknowledged_note",
            field=models.TextField(blank=True, default=""),
        ),
    ]
