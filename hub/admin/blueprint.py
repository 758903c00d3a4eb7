"""The admin blueprint; the view modules attach their routes to it."""

from __future__ import annotations

from flask import Blueprint, Response

blueprint = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@blueprint.after_request
def _no_store(response: Response) -> Response:
    # Admin pages show citizens' data: never keep them in a shared or browser cache.
    response.headers["Cache-Control"] = "no-store"
    return response
