from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation"

    def ready(self):
        from django.db.models.signals import post_migrate

        # Issue 5: frozen snapshots stay frozen (signal receivers).
        from annotation.services import immutability  # noqa: F401

        # Reference rows come back after every flush too (flush emits post_migrate), so transactional tests and
        # `manage.py flush` never leave a database without its languages and harm categories.
        post_migrate.connect(seed_reference_data, sender=self)


def seed_reference_data(sender, using="default", **kwargs):
    from annotation.models import HarmCategory, Language
    from annotation.reference_data import seed

    seed(Language, HarmCategory, using=using)
