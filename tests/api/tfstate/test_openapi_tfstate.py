"""The OpenAPI document of the state routes: one operation id per operation (FastAPI warns
about duplicates when the document is built, so warnings are errors here), and a declared
answer for every 2xx of the Terraform backend, the state history and the tokens."""

from __future__ import annotations

import warnings

import pytest

BACKEND = "/tf/{environment}/{state}"


@pytest.fixture
def openapi(app):
    app.openapi_schema = None  # build it here, not from a cache
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return app.openapi()


def operations(openapi):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_building_the_document_warns_about_nothing_and_every_operation_id_is_unique(openapi):
    ids = [operation["operationId"] for _, _, operation in operations(openapi)]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_post_and_put_of_a_state_are_two_operations(openapi):
    backend = openapi["paths"][BACKEND]
    assert backend["post"]["operationId"] != backend["put"]["operationId"]
    assert {"lock", "unlock"} <= set(backend)  # Terraform's own methods
    lock = openapi["paths"][BACKEND + "/lock"]
    assert {lock["post"]["operationId"], lock["delete"]["operationId"]}.isdisjoint(
        {backend["lock"]["operationId"], backend["unlock"]["operationId"]}
    )


@pytest.mark.parametrize("prefix", ["/tf/", "/api/states", "/api/tokens"])
def test_every_2xx_answer_of_the_state_and_token_routes_has_a_schema(openapi, prefix):
    checked = 0
    for path, method, operation in operations(openapi):
        if not path.startswith(prefix):
            continue
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                schemas = [body["schema"] for body in response.get("content", {}).values()]
                assert schemas and all(schemas), f"{method.upper()} {path} {status}"
                checked += 1
    assert checked >= 3


def test_the_state_body_and_the_refused_lock_are_json_objects(openapi):
    backend = openapi["paths"][BACKEND]
    assert backend["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "object"
    }
    refused = backend["lock"]["responses"]["423"]["content"]["application/json"]["schema"]
    assert set(refused["properties"]) == {
        "ID",
        "Operation",
        "Info",
        "Who",
        "Version",
        "Created",
        "Path",
    }


def test_the_history_and_token_answers_are_their_read_models(openapi):
    def model(path, method, status="200"):
        content = openapi["paths"][path][method]["responses"][status]["content"]
        return content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]

    assert model("/api/states/{environment}", "get") == "VersionListRead"
    assert model("/api/states/{environment}/{state}/show", "get") == "StateChangeRead"
    assert model("/api/states/{environment}/{state}/restore", "post") == "RestoreRead"
    assert model("/api/tokens", "post", "201") == "TokenSecretRead"
    assert model("/api/tokens", "get") == "TokenListRead"
    assert model("/api/tokens/{name}", "delete") == "TokenRead"
