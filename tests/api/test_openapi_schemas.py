"""The API speaks in declared shapes: every 2xx answer of every route has a schema in
/openapi.json (benchmark floors included, with the setting that turns them on)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from signalbox.api.app import create_app


@pytest.fixture
def openapi(settings, clock, database):
    app = create_app(
        replace(settings, bench_endpoints=True), clock=clock, engine=database, sweep_seconds=None
    )
    return app.openapi()


def test_every_success_answer_has_a_schema(openapi) -> None:
    missing = []
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            answers = {code: a for code, a in operation["responses"].items() if code[0] == "2"}
            assert answers, f"{method.upper()} {path} declares no success answer"
            for code, answer in answers.items():
                schemas = [c.get("schema") for c in answer.get("content", {}).values()]
                if not schemas or not all(schemas):
                    missing.append(f"{method.upper()} {path} {code}")
    assert missing == []


def test_the_environment_picture_is_documented_field_by_field(openapi) -> None:
    picture = openapi["components"]["schemas"]["EnvironmentRead"]["properties"]
    for field in ("state", "hold", "queue", "next_reservation_overlaps_deploy", "blocking"):
        assert field in picture
