"""schemathesis against the served OpenAPI document: generated requests, valid and invalid, never
get a 5xx; statuses and content types are documented and bodies match their schemas.

The operations are listed from the same `openapi_document` the service serves, so each gets its
own test; the document itself is loaded from the running service.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from indoormaps.api.openapi import openapi_document
from indoormaps.config import Settings
from indoormaps_http_support import Service
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

_PATHS = openapi_document(Settings())["paths"]
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
# Negative cases need something to break: operations without parameters or body get positive ones only.
CASES = [
    (mode, method.upper(), path)
    for path, item in _PATHS.items()
    for method, spec in item.items()
    for mode in MODES
    if mode is schemathesis.GenerationMode.POSITIVE or spec.get("parameters") or spec.get("requestBody")
]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(service: Service) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{service.url}/api/schema/")


@pytest.mark.parametrize(("mode", "method", "path"), CASES, ids=[f"{c[0].value}-{c[1]} {c[2]}" for c in CASES])
def test_generated_requests(
    api_schema: schemathesis.BaseSchema, method: str, path: str, mode: schemathesis.GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=15, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS, timeout=30)

    run()
