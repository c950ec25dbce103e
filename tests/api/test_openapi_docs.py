"""``/docs`` and ``/redoc`` work with the network unplugged: the pages, the OpenAPI document
they load and every asset they reference come from the server itself, with no token."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.routing import Mount, Route

from signalbox.api.app import DOCS_ASSETS, ROUTERS
from signalbox.web.mount import ROUTERS as PAGE_ROUTERS

ROOT = Path(__file__).resolve().parents[2]
SERVER = "testserver"  # the in-process client's host: the only one a page may name

_REFERENCE = re.compile(
    r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']"""
)
_ABSOLUTE = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


def references(html: str) -> list[str]:
    """Every URL a page loads: src=, href= and spec-url= (ReDoc) attributes, and
    ``url: '...'`` in its script (Swagger UI)."""
    return [first or second for first, second in _REFERENCE.findall(html)]


def other_hosts(text: str) -> list[str]:
    """Every absolute or protocol-relative URL in ``text`` whose host is not the server."""
    return [url for url in _ABSOLUTE.findall(text) if urlsplit(url).hostname != SERVER]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_page_loads_nothing_from_another_host(client, page):
    answer = client.get(page)  # no token
    assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]
    assert other_hosts(answer.text) == []
    loaded = references(answer.text)
    assert "/openapi.json" in loaded
    assert any(url.startswith(DOCS_ASSETS + "/") and url.endswith(".js") for url in loaded)
    for url in loaded:
        assert client.get(url).status_code == 200, url  # each asset answers, without a token


def test_the_swagger_page_loads_its_script_and_style_from_the_server(client):
    loaded = references(client.get("/docs").text)
    assert f"{DOCS_ASSETS}/swagger-ui-bundle.js" in loaded
    assert f"{DOCS_ASSETS}/swagger-ui.css" in loaded
    assert '"validatorUrl": null' in client.get("/docs").text  # no online validator badge


def test_the_openapi_document_names_no_other_host(client):
    answer = client.get("/openapi.json")  # no token
    assert answer.status_code == 200
    assert other_hosts(answer.text) == []
    assert answer.json()["info"]["title"] == "signalbox"


def test_an_asset_is_served_with_its_type(client):
    script = client.get(f"{DOCS_ASSETS}/redoc.standalone.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert len(script.content) > 100_000  # the real bundle, not a stub
    assert client.get(f"{DOCS_ASSETS}/nothing.js").status_code == 404


def test_the_health_check_declares_its_answer(client):
    operation = client.get("/openapi.json").json()["paths"]["/healthz"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/HealthRead"}


def test_the_url_checks_see_what_they_must():
    """The helpers above would catch a CDN: guard them against reading nothing."""
    page = (
        '<link href="https://cdn.jsdelivr.net/x.css"><script src="//unpkg.com/y.js"></script>'
        "<script>SwaggerUIBundle({url: '/openapi.json'})</script>"
        '<img src="http://testserver/docs/static/favicon.png">'
    )
    assert references(page) == [
        "https://cdn.jsdelivr.net/x.css",
        "//unpkg.com/y.js",
        "/openapi.json",
        "http://testserver/docs/static/favicon.png",
    ]
    assert other_hosts(page) == ["https://cdn.jsdelivr.net/x.css", "//unpkg.com/y.js"]


def documented_open_paths() -> set[str]:
    """The paths in the table of docs/api.md's "Tokens" section (the routes without a token)."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("## Tokens", 1)[1].split("\n## ", 1)[0]
    return {match for match in re.findall(r"^\| `([^`]+)`", section, re.M)}


def test_the_routes_without_a_token_are_the_documented_ones(client):
    """Every route is asked without a token: those that answer are the ones docs/api.md lists;
    every other one is 401 (a page: a redirect to the sign-in page)."""
    answered: set[str] = set()
    own = [route for route in client.app.routes if isinstance(route, Route | Mount)]
    routed = [route for router, setting in ROUTERS if setting is None for route in router.routes]
    pages = [route for router in PAGE_ROUTERS for route in router.routes]
    assert len(routed) > 30 and len(pages) > 10
    for route in own + routed + pages:
        if isinstance(route, Mount):
            answered.add(route.path + "/...")  # the docs assets, asked above
            continue
        assert isinstance(route, Route), route
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in sorted(route.methods or {"GET"}):
            answer = client.request(method, path, follow_redirects=False)
            to_sign_in = answer.headers.get("location", "").startswith("/login?next=")
            if answer.status_code != 401 and not to_sign_in:
                answered.add(route.path)
    assert answered == documented_open_paths()
