"""A state write without Content-MD5 is checked whole: a cut body or one with a top-level
key twice is refused (422, what is wrong and where) and nothing is stored."""

from __future__ import annotations

from tests.api.tfstate.states import state_body

HEADERS = {"Content-Type": "application/json"}  # no Content-MD5: curl, scripts, other tools


def post(client, headers, body: bytes):
    return client.post("/tf/dev/network", headers={**headers, **HEADERS}, content=body)


def versions(client, headers) -> list[int]:
    answer = client.get("/api/states/dev/network", headers=headers)
    return [v["serial"] for v in answer.json()["versions"]] if answer.status_code == 200 else []


def test_a_truncated_body_without_content_md5_is_refused(client, ci, terraform):
    assert post(client, ci, state_body(1, "pool")).status_code == 200
    body = state_body(2, "pool", "site")
    cut = body[: len(body) * 2 // 3]
    refused = post(client, ci, cut)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "state-body-invalid" and problem["cause"] == "not-a-state"
    assert problem["detail"] == (
        f"The body is not a Terraform state: it ends at byte {len(cut)}, inside its JSON "
        "(cut short?). Nothing was stored; send the whole state, as Terraform writes it."
    )
    assert versions(client, ci) == [1]
    assert terraform.read(ci).content == state_body(1, "pool")


def test_a_duplicated_serial_without_content_md5_is_refused(client, ci):
    assert post(client, ci, state_body(1, "pool")).status_code == 200
    body = state_body(5, "pool")
    doubled = body[:-2] + b',\n  "serial": 2\n}'
    refused = post(client, ci, doubled)
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert "its top-level key 'serial' appears more than once (at byte " in detail
    assert versions(client, ci) == [1]


def test_data_after_the_state_is_refused(client, ci):
    body = state_body(1, "pool")
    refused = post(client, ci, body + b"\n{}")
    assert refused.status_code == 422
    assert (
        f"it has more after its JSON object, from byte {len(body) + 1}" in refused.json()["detail"]
    )
    assert versions(client, ci) == []


def test_a_whole_state_is_still_accepted(client, ci, terraform):
    body = state_body(1, "pool")
    assert post(client, ci, body).status_code == 200
    assert terraform.read(ci).content == body
