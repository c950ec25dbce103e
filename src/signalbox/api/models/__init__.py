"""The API's declared shapes: one module per resource, read models ``XRead`` and request
bodies ``XCreate``. Routes declare them as their response models, so ``/openapi.json``
documents every answer; the services' values are converted here and nowhere else."""
