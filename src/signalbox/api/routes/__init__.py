"""API routers, one module per domain; ``signalbox.api.app.ROUTERS`` lists them."""
