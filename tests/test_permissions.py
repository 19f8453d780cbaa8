"""Roles as a matrix: every role x every API endpoint x every method, every admin page, every other page.

The endpoints come from the OpenAPI schema and the URL conf, so a new endpoint or page is checked as soon as it
exists; an API path that matches no rule in EXPECTED fails the test, so its intended role must be written here.
"""
import re

import pytest
from django.contrib import admin
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator

from annotation import permissions
from tests.annotation.api_world import ROLES, build_world

pytestmark = pytest.mark.django_db
RANK = {role: i for i, role in enumerate(ROLES)}
METHODS = ("get", "post", "put", "patch", "delete")

# path regex -> the least role that may read (GET), write (POST/PUT/PATCH) and delete. Keep this the intended policy,
# written independently of the views, so that a view with the wrong permission class fails here.
EXPECTED = [
    (r"^/api/schema/$", {"read": "anonymous", "write": "anonymous", "delete": "anonymous"}),
    (r"^/api/auth/token/$", {"read": "anonymous", "write": "anonymous", "delete": "anonymous"}),
    (r"^/api/(languages|harm-categories)/", {"read": "annotator", "write": "curator", "delete": "admin"}),
    (r"^/api/(harm-labels|comparisons|assignments)/", {"read": "annotator", "write": "annotator",
                                                       "delete": "annotator"}),
    (r"^/api/me/$", {"read": "annotator", "write": "annotator", "delete": "annotator"}),
    (r"^/api/(prompts|candidate-sets|snapshots|training-runs)/", {"read": "curator", "write": "curator",
                                                                  "delete": "admin"}),
]


def api_paths():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(schema["paths"])


def expected_for(path):
    for pattern, rule in EXPECTED:
        if re.search(pattern, path):
            return rule
    raise AssertionError(f"{path} has no rule in EXPECTED: add the role it needs")


def fill(path, world):
    ids = {"assignments": world.own_assignment.pk, "harm-labels": world.own_label.pk,
           "comparisons": world.own_comparison.pk, "prompts": world.prompt.pk,
           "candidate-sets": world.candidate_set.pk, "snapshots": world.snapshot.pk, "training-runs": world.run.pk,
           "languages": 1, "harm-categories": 1}
    resource = path.split("/")[2]
    return path.replace("{id}", str(ids.get(resource, 1))).replace("{fmt}", "raw")


@pytest.mark.parametrize("path", api_paths())
def test_api_matrix(path):
    world = build_world()
    rule = expected_for(path)
    for role in ROLES:
        client = world.client(role)
        for method in METHODS:
            need = rule["read" if method == "get" else "delete" if method == "delete" else "write"]
            # Each request in its own savepoint, rolled back: a DELETE or a submit must not change the next one.
            with transaction.atomic():
                response = getattr(client, method)(fill(path, world), {}, format="json")
                transaction.set_rollback(True)
            where = f"{role} {method.upper()} {path} -> {response.status_code}"
            assert response.status_code < 500, where
            if RANK[role] < RANK[need]:
                assert response.status_code in (401, 403), where
                if role == "anonymous":
                    assert response.status_code == 401, where  # token auth asks for credentials
            else:
                assert response.status_code not in (401, 403), where


def test_api_views_take_their_permissions_from_annotation_permissions():
    from drf_spectacular.generators import EndpointEnumerator
    allowed_modules = {permissions.__name__}
    for path, *_, view in EndpointEnumerator().get_api_endpoints():
        if path in ("/api/schema/", "/api/docs/", "/api/auth/token/"):
            continue  # public by design: the schema and its page, and the throttled login for tokens
        for perm in view.cls.permission_classes:
            assert perm.__module__ in allowed_modules, f"{path}: {perm} is not from annotation/permissions.py"


def test_role_of():
    world = build_world()
    from django.contrib.auth.models import AnonymousUser
    assert permissions.role_of(AnonymousUser()) == "anonymous"
    assert [permissions.role_of(world.users[r]) for r in ("annotator", "curator", "admin")] == list(ROLES[1:])
    inactive = world.users["curator"]
    inactive.is_active = False
    assert permissions.role_of(inactive) == "anonymous"


# ---- the admin ---------------------------------------------------------------------------------------------------

def admin_urls():
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        urls += [reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"),
                 reverse(f"admin:{meta.app_label}_{meta.model_name}_add")]
    return urls


def test_admin_matrix(client):
    world = build_world()
    login = reverse("admin:login")
    for url in admin_urls():
        for role in ROLES:
            client.logout()
            if role != "anonymous":
                client.force_login(world.users[role])
            # A POST to a changelist is an admin action, meaningless empty: staff POST only to add pages.
            methods = ("get", "post") if role in ("anonymous", "annotator") or url.endswith("/add/") else ("get",)
            for method in methods:
                with transaction.atomic():
                    response = getattr(client, method)(url)
                    transaction.set_rollback(True)
                where = f"{role} {method.upper()} {url} -> {response.status_code}"
                assert response.status_code < 500, where
                if role in ("anonymous", "annotator"):
                    assert response.status_code == 302 and response.url.startswith(login), where
                elif role == "admin" or url.endswith("/changelist/") or "/annotation/" in url or "/training/" in url:
                    assert response.status_code in (200, 302, 403), where
                if role == "admin" and method == "get" and "_changelist" not in url:
                    assert response.status_code in (200, 403), where
    # Curators see the annotation and training admin; annotators see none of it.
    client.force_login(world.users["curator"])
    assert client.get(reverse("admin:annotation_prompt_changelist")).status_code == 200
    assert client.get(reverse("admin:training_trainingrun_changelist")).status_code == 200


# ---- every other page ----------------------------------------------------------------------------------------

PUBLIC = {"login", "set_language", "logout"}


def page_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith(("admin/", "api/")):
                continue
            yield from page_patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route.lstrip("^").rstrip("$"), entry.name


def page_url(route, world):
    values = {"pk": str(world.own_assignment.pk), "name": world.snapshot.name, "fmt": "raw"}
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "1"), route)


def test_anonymous_is_sent_to_login_from_every_page(client):
    world = build_world()
    checked = 0
    for route, name in page_patterns():
        if name in PUBLIC or route.startswith("static/"):
            continue
        url = page_url(route, world)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            where = f"anonymous {method.upper()} {url} -> {response.status_code}"
            assert response.status_code in (302, 401, 403, 404, 405), where
            if response.status_code == 302:
                assert "login" in response.url, where
        checked += 1
    assert checked >= 3


def test_annotators_are_refused_from_curator_pages(client):
    world = build_world()
    client.force_login(world.users["annotator"])
    for url in (f"/exports/{world.snapshot.name}/raw.zip", "/training/"):
        response = client.get(url)
        assert response.status_code in (302, 403, 404), url
        if response.status_code == 302:
            assert "login" in response.url


def test_role_required_decorators_for_function_views(rf):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied
    from django.http import HttpResponse

    world = build_world()
    view = permissions.curator_required(lambda request: HttpResponse("ok"))
    request = rf.get("/somewhere/")
    request.user = AnonymousUser()
    assert view(request).status_code == 302
    request.user = world.users["annotator"]
    with pytest.raises(PermissionDenied):
        view(request)
    for role in ("curator", "admin"):
        request.user = world.users[role]
        assert view(request).status_code == 200
