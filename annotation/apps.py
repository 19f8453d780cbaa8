from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation"

    def ready(self):
        # Issue 5: frozen snapshots stay frozen (signal receivers).
        from annotation.services import immutability  # noqa: F401
