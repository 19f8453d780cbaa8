"""Who may do what: the one place where Crosswalk's roles are decided, for the API and for pages.

Roles, from least to most trusted (built on the groups of annotation/services/roles.py):
- anonymous: not logged in; sees the login page and nothing else.
- annotator: any other logged-in user (annotators need no group: a profile with languages is enough); works on
  their own tasks and sees only their own judgements, never others' answers nor gold answers.
- curator: member of the Curators group; reads everything, freezes snapshots, exports, starts training runs.
- admin: a superuser; everything a curator does, plus deleting.

Use `role_of(user)` / `has_role(user, CURATOR)` in code, `role_required(CURATOR)` on function views, and the
DRF permission classes below on API views. `own_rows(queryset, user, field)` scopes a queryset to what a user may
read, so that guessing an id of someone else's row gives 404, not 403.
"""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from annotation.services.roles import is_curator

ANONYMOUS, ANNOTATOR, CURATOR, ADMIN = "anonymous", "annotator", "curator", "admin"
ROLES = (ANONYMOUS, ANNOTATOR, CURATOR, ADMIN)
_RANK = {role: i for i, role in enumerate(ROLES)}


def role_of(user) -> str:
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    if user.is_superuser:
        return ADMIN
    # Cached on the user object: one groups query per request, however many checks run.
    if not hasattr(user, "_crosswalk_is_curator"):
        user._crosswalk_is_curator = is_curator(user)
    return CURATOR if user._crosswalk_is_curator else ANNOTATOR


def has_role(user, role: str) -> bool:
    """True when the user's role is `role` or a more trusted one."""
    return _RANK[role_of(user)] >= _RANK[role]


def can_see_all_judgements(user) -> bool:
    return has_role(user, CURATOR)


def own_rows(queryset, user, field="annotator"):
    """All rows for curators and admins; an annotator's own rows otherwise (others' rows are simply absent)."""
    if can_see_all_judgements(user):
        return queryset
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{field: user})


def role_required(role: str):
    """Decorator for function views: anonymous users go to the login page, too-low roles get 403."""
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, role):
                raise PermissionDenied
            return view(request, *args, **kwargs)
        return wrapped
    return decorator


annotator_required = role_required(ANNOTATOR)
curator_required = role_required(CURATOR)
admin_required = role_required(ADMIN)


# ---- DRF -------------------------------------------------------------------------------------------------------

class _RolePermission(BasePermission):
    role = ANNOTATOR
    # Methods that need `write_role` instead of `role` (None: same as role).
    write_role = None
    delete_role = ADMIN

    def has_permission(self, request, view):
        if request.method == "DELETE":
            return has_role(request.user, self.delete_role)
        if request.method not in ("GET", "HEAD", "OPTIONS") and self.write_role:
            return has_role(request.user, self.write_role)
        return has_role(request.user, self.role)


class IsAnnotator(_RolePermission):
    """Any logged-in user (annotator, curator or admin), for views about the user's own things (their queue,
    their profile), where DELETE removes only their own data; views that must not delete simply have no DELETE."""
    role = delete_role = ANNOTATOR


class IsCurator(_RolePermission):
    role = CURATOR


class IsAdmin(_RolePermission):
    role = ADMIN


class ReadAnnotatorWriteCurator(_RolePermission):
    """Everyone logged in reads; curators write; admins delete."""
    role, write_role = ANNOTATOR, CURATOR
