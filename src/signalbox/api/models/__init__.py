"""The API's declared shapes: one module per resource, read models ``XRead`` and request
bodies ``XCreate``. Routes declare them as their response models, so ``/openapi.json``
documents every answer; the services' values are converted here and nowhere else."""

from fastapi.responses import Response
from pydantic import BaseModel

__all__ = ["json_response"]


def json_response(model: BaseModel) -> Response:
    """``model``, a read model already built (so validated), as the JSON answer, serialised
    once: returned as a model, FastAPI would check it again against the route's
    ``response_model``. For the routes thousands of clients call (holds, the long-poll); the
    route still declares its ``response_model`` for ``/openapi.json``."""
    return Response(model.model_dump_json(), media_type="application/json")
