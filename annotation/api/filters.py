"""Filtering for the API (django-filter), with datetimes made safe for PostgreSQL.

Python accepts UTC offsets up to ±23:59 but PostgreSQL only up to ±15:59, so a filter such as
`?created_at__gte=2020-01-01T00:00+16:15` would be a database error (a 500). Datetimes are moved to UTC first, and
the ones that cannot be (beyond year 1 or 9999) are a 400.
"""
from datetime import UTC

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_filters import rest_framework as filters


def to_utc(value):
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValidationError("date and time out of range") from exc


class UTCDateTimeField(forms.DateTimeField):
    def to_python(self, value):
        return to_utc(super().to_python(value))


class UTCDateTimeFilter(filters.DateTimeFilter):
    field_class = UTCDateTimeField


class FilterSet(filters.FilterSet):
    FILTER_DEFAULTS = {**filters.FilterSet.FILTER_DEFAULTS, models.DateTimeField: {"filter_class": UTCDateTimeFilter}}


class FilterBackend(filters.DjangoFilterBackend):
    filterset_base = FilterSet
