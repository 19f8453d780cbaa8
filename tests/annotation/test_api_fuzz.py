"""Fuzz the API against its own OpenAPI schema with schemathesis, through the Django WSGI app, as a curator:
whatever the input, no 500s, and responses match the schema. Examples are bounded so the test runs in seconds."""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.checks import not_a_server_error

from django.core import signals
from django.db import close_old_connections

from config.wsgi import application
from tests.annotation.api_world import build_world

# CI: a few random examples per operation. CROSSWALK_FUZZ_THOROUGH=1 adds schemathesis' coverage phase (boundary
# values, malformed ids, unknown properties) and more examples: minutes, not seconds; run it after API changes.
THOROUGH = os.environ.get("CROSSWALK_FUZZ_THOROUGH") == "1"
EXAMPLES = 25 if THOROUGH else 5


@pytest.fixture
def api_schema(db):
    world = build_world()
    # The raw WSGI app closes the database connection after each request (Django's test Client stops that
    # itself); the test's transaction lives on that connection, so keep it open as the test Client does.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
        # The world's curator token, on every generated request.
        schema.config.headers = {"Authorization": f"Token {world.tokens['curator']}"}
        schema.config.phases.coverage.enabled = THOROUGH
        yield schema
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_never_fails_on_any_input(case):
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
