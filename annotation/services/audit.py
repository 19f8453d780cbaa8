"""An audit log of curator and admin actions: who did what to which object, with the old and new values."""
import json

from django.core.serializers.json import DjangoJSONEncoder

from annotation.models import AuditLogEntry


def _json_safe(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


# Never copied into the log.
SECRET_FIELDS = {"password"}


def serialize(obj) -> dict:
    """The object's field values as JSON (foreign keys as ids, many-to-many as sorted id lists), secrets left out."""
    values = {f.attname: f.value_from_object(obj) for f in obj._meta.concrete_fields if f.name not in SECRET_FIELDS}
    if obj.pk is not None:
        for f in obj._meta.many_to_many:
            values[f.name] = sorted(getattr(obj, f.name).values_list("pk", flat=True))
    return _json_safe(values)


def changed(old: dict, new: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, as (old values, new values)."""
    keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}


def record(user, action: str, obj=None, *, model: str = "", object_id="", old=None, new=None) -> AuditLogEntry:
    if obj is not None:
        model, object_id = obj._meta.label_lower, obj.pk
    return AuditLogEntry.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None, action=action, model=model,
        object_id="" if object_id is None else str(object_id), old=_json_safe(old or {}), new=_json_safe(new or {}))
