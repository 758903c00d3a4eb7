"""The admin blueprint; the view modules attach their routes to it."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, request, url_for
from werkzeug.exceptions import Unauthorized

from hub.errors import NotLoggedIn, render_error, wants_json

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


@blueprint.errorhandler(401)
def _log_in_first(_error: Unauthorized) -> Response:
    """Send a browser without a staff session to the staff login, and back here afterwards."""
    if wants_json() or "identity" not in current_app.extensions:
        return render_error(401, NotLoggedIn.code, NotLoggedIn.default_message)
    back = request.full_path.rstrip("?") if request.method == "GET" else None
    if "devstaff.choose" in current_app.view_functions:
        return redirect(url_for("devstaff.choose"), code=303)
    return redirect(url_for("identity.choose_staff", next=back), code=303)
