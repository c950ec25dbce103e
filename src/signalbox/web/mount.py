"""``install_pages(app)``: every page router and the static assets, added to the API's app."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from signalbox.web.routes import board, deploys, environments, incidents, login

__all__ = ["ROUTERS", "STATIC_PATH", "install_pages"]

ROUTERS: list[APIRouter] = [
    board.router,
    login.router,
    environments.router,
    deploys.router,
    incidents.router,
]
"""Every page router (none of them is in /openapi.json: pages are not the API)."""

STATIC_PATH = "/static"


def install_pages(app: FastAPI) -> None:
    """Add the pages and their static assets to ``app``."""
    for router in ROUTERS:
        app.include_router(router)
    directory = str(files("signalbox.web") / "static")
    app.mount(STATIC_PATH, StaticFiles(directory=directory), name="static")
