from django.db import migrations


def seed(apps, schema_editor):
    from annotation.reference_data import seed as seed_rows

    seed_rows(apps.get_model("annotation", "Language"), apps.get_model("annotation", "HarmCategory"))


class Migration(migrations.Migration):
    dependencies = [("annotation", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
