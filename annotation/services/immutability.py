"""Database-side guards that keep frozen things frozen, whatever code path (admin, shell, API) tries to change them.

A DatasetSnapshot is filled once, by freeze_snapshot's bulk insert into its through tables (which sends no
m2m signal); afterwards its selection and recorded values never change. Only `files` (what export wrote) may be
updated. Prompts and judgements a snapshot holds cannot be deleted, since that would silently shrink it.
"""
from django.db.models import ProtectedError
from django.db.models.signals import m2m_changed, pre_delete, pre_save
from django.dispatch import receiver

from annotation.models import Comparison, DatasetSnapshot, HarmLabel, Prompt

MUTABLE_SNAPSHOT_FIELDS = {"files"}


class FrozenSnapshotError(Exception):
    pass


@receiver(pre_save, sender=DatasetSnapshot)
def refuse_snapshot_changes(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    old = DatasetSnapshot.objects.filter(pk=instance.pk).first()
    if old is None:
        return
    changed = [f.name for f in DatasetSnapshot._meta.concrete_fields
               if f.name not in MUTABLE_SNAPSHOT_FIELDS and f.value_from_object(old) != f.value_from_object(instance)]
    if changed:
        raise FrozenSnapshotError(f"snapshot {old.name!r} is frozen; refused change to {', '.join(changed)}")


def refuse_snapshot_m2m(sender, instance, action, **kwargs):
    if action.startswith("pre_"):
        raise FrozenSnapshotError("a snapshot's selection is frozen: rows cannot be added or removed after creation")


for _field in ("prompts", "harm_labels", "comparisons"):
    m2m_changed.connect(refuse_snapshot_m2m, sender=getattr(DatasetSnapshot, _field).through,
                        dispatch_uid=f"refuse_snapshot_m2m_{_field}")


@receiver(pre_delete, sender=Prompt)
@receiver(pre_delete, sender=HarmLabel)
@receiver(pre_delete, sender=Comparison)
def refuse_deleting_snapshot_rows(sender, instance, **kwargs):
    snapshots = list(instance.snapshots.values_list("name", flat=True)[:3])
    if snapshots:
        raise ProtectedError(f"{instance} is part of frozen snapshot(s) {snapshots}", {instance})
