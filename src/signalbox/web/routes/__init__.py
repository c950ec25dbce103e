"""The pages' routers, one module per page family; ``web.ROUTERS`` lists them."""
