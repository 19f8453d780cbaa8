"""Roles are Django groups: annotators work in the workspace, curators also run the admin and training."""
from django.contrib.auth.models import Group, Permission

ANNOTATORS, CURATORS = "Annotators", "Curators"
# Curators manage everything in these apps; deleting judgements stays with admins (disagreement is data).
CURATOR_APPS = ("annotation", "training")


def ensure_groups() -> dict[str, Group]:
    annotators, _ = Group.objects.get_or_create(name=ANNOTATORS)
    curators, _ = Group.objects.get_or_create(name=CURATORS)
    perms = Permission.objects.filter(content_type__app_label__in=CURATOR_APPS).exclude(codename__startswith="delete_")
    curators.permissions.set(perms)
    return {ANNOTATORS: annotators, CURATORS: curators}


def is_curator(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.groups.filter(name=CURATORS).exists())
