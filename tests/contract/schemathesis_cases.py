"""Schemathesis against a running Hookyard (run by `fuzz_server` inside a private namespace).

Not collected by the normal run (the file name does not start with `test_`): it needs the
server that `fuzz_server` starts and the environment it sets.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiCase

BASE = os.environ["HOOKYARD_FUZZ_URL"]
HEADERS = {"Authorization": f"Bearer {os.environ['HOOKYARD_FUZZ_TOKEN']}"}
EXAMPLES = int(os.environ.get("HOOKYARD_FUZZ_EXAMPLES", "20"))
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.negative_data_rejection,
]

schema = schemathesis.openapi.from_url(f"{BASE}/openapi.json")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: OpenApiCase) -> None:
    headers = dict(HEADERS)
    if case.operation.path.endswith("/connect/token"):
        headers = {}
    case.call_and_validate(base_url=BASE, headers=headers, timeout=30, checks=CHECKS)
