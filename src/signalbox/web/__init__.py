"""The web pages, served by ``signalbox serve`` beside the API: the board (``/``), an
environment, booking, a deploy with its approval, incidents, and sign-in.

Server-rendered with Jinja2 from the same pictures and services as the API and the CLI
(``core.status``, ``services.*``): a page never decides anything of its own. Every asset is
served by signalbox itself (``/static``); the pages work without a network and, but for
live updates, without JavaScript.

    security.py  sessions from a sign-in, the form token (CSRF) and origin checks
    render.py    the Jinja2 environment, its filters (times in the environment's zone)
    errors.py    an error on a page as a page (statuses from ``api.problems``' one table)
    mount.py     ``install_pages(app)``: the routers and ``/static``
    routes/      one module per page family
"""
