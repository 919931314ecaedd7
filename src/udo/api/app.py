"""The Flask app factory: blueprints, errors, bearer token, CORS, the built web UI.

    flask_app = create_app(bootstrap(), serve_ui=Path("web/dist"), start_background=True)

Security, in order of each request: CORS preflights are answered without a token (a
browser never sends one there); every other /api route but /api/health needs
``Authorization: Bearer <token>`` when a token is configured (compared in constant time;
the event stream also takes ``?access_token=``, since EventSource cannot send headers);
only the configured origin ever gets ``Access-Control-Allow-Origin``. A token is
mandatory when the API listens on anything but loopback (`ApiOptions.check`).
"""

from __future__ import annotations

import atexit
import hmac
import logging
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask, Response, request, send_from_directory
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import NotFound

from udo.api import datasets, events, meta, queues, runs, specs
from udo.api.drains import DrainExecutor
from udo.api.errors import error_response, install_error_handlers
from udo.api.options import ApiOptions
from udo.api.state import EXTENSION, ApiState
from udo.api.values import iso
from udo.bootstrap import App
from udo.errors import ConfigError

log = logging.getLogger(__name__)
OPEN_PATHS = frozenset({"/api/health"})
QUERY_TOKEN_PATHS = frozenset({"/api/events"})
"""Where the token may also come as ``?access_token=`` (RFC 6750 §2.3): a browser's
EventSource cannot send headers. Nowhere else, so tokens stay out of ordinary URLs."""
CORS_HEADERS = "Authorization, Content-Type, Last-Event-ID, X-Requested-With, X-SignalR-User-Agent"
"""The last two are sent by the SignalR client's negotiate call."""
CORS_METHODS = "GET, POST, OPTIONS"


class UdoJSONProvider(DefaultJSONProvider):
    """JSON with ISO 8601 times and exact decimals (Flask's default writes HTTP dates)."""

    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        """Values the json module does not know."""
        if isinstance(o, datetime):
            return iso(o)
        if isinstance(o, date):
            return o.isoformat()
        if isinstance(o, Decimal):
            return format(o, "f")
        return DefaultJSONProvider.default(o)


def create_app(
    app: App,
    *,
    serve_ui: Path | None = None,
    start_background: bool = False,
    options: ApiOptions | None = None,
) -> Flask:
    """The Flask app serving `app` under /api.

    `serve_ui`: a built web app (``web/dist``) served at / with its assets, any other
    non-/api path answering its index.html (client-side routes). `start_background`:
    start the triggers so the queues drain on schedule in this process (stopped at exit
    or by `shutdown`), unless another orchestrator (Data Factory) owns the schedule.
    `options`: overrides ``app.settings.api``.

    Raises `ConfigError` when the options are unsafe (no token off loopback) or the UI
    folder has no index.html.
    """
    options = options or ApiOptions.from_settings(app.settings)
    options.check()
    ui_folder = _ui_folder(serve_ui)
    # build the shared services once, here, not racing in request threads
    for service in ("metadata", "queue", "notifier", "runs", "worker"):
        getattr(app, service)
    drains = DrainExecutor(app.worker)
    triggers = app.triggers()
    for job in triggers.scheduler.get_jobs():  # scheduled drains run on the drain thread too
        triggers.scheduler.modify_job(job.id, func=drains.scheduled, args=job.args)

    flask_app = Flask("udo.api", static_folder=None)  # the UI is served by _install_ui
    flask_app.json = UdoJSONProvider(flask_app)
    flask_app.config["MAX_CONTENT_LENGTH"] = options.max_upload_bytes
    # Data Factory's ScheduleTriggers drain the queues in azure mode: two schedulers would race
    orchestrator = app.settings.orchestrator.type
    schedule_elsewhere = start_background and orchestrator != "local"
    start_background = start_background and not schedule_elsewhere
    api_state = ApiState(
        udo=app, options=options, triggers=triggers, drains=drains, background=start_background
    )
    flask_app.extensions[EXTENSION] = api_state
    install_error_handlers(flask_app)
    _install_security(flask_app, options)
    for module in (meta, specs, datasets, runs, queues, events):
        flask_app.register_blueprint(module.bp)
    if ui_folder is not None:
        _install_ui(flask_app, ui_folder)
    if start_background:
        triggers.start()
        atexit.register(api_state.shutdown)
        log.info("triggers started: %s", triggers.next_fire_times())
    elif schedule_elsewhere:
        log.info("the %s orchestrator drains the queues: no local triggers", orchestrator)
        app.orchestrator.resume(watch=True)  # runs other processes started (CLI, a restart)
    return flask_app


def shutdown(flask_app: Flask, wait: bool = False) -> None:
    """Stop the app's triggers and event streams (`udo up` calls it on exit)."""
    api_state: ApiState = flask_app.extensions[EXTENSION]
    api_state.shutdown(wait=wait)


def _ui_folder(serve_ui: Path | None) -> Path | None:
    if serve_ui is None:
        return None
    folder = serve_ui.resolve()
    if not (folder / "index.html").is_file():
        raise ConfigError(f"no index.html in {folder}: build the web app first (npm run build)")
    return folder


def _install_security(flask_app: Flask, options: ApiOptions) -> None:
    token = options.token_value
    origin = options.cors_origin

    @flask_app.before_request
    def _guard() -> Response | None:
        if not request.path.startswith("/api/") and request.path != "/api":
            return None
        if request.method == "OPTIONS":  # a CORS preflight: headers added below
            return Response(status=204)
        if token is None or request.path in OPEN_PATHS:
            return None
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            given = ""
        if not given and request.path in QUERY_TOKEN_PATHS:
            given = request.args.get("access_token", "")
        if given and hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        response = error_response(401, "unauthorized", "missing or invalid bearer token")
        response.headers["WWW-Authenticate"] = 'Bearer realm="udo"'
        return response

    @flask_app.after_request
    def _cors(response: Response) -> Response:
        if origin is None:
            return response
        response.vary.add("Origin")
        if request.headers.get("Origin") == origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
                response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
                response.headers["Access-Control-Max-Age"] = "600"
        return response


def _install_ui(flask_app: Flask, folder: Path) -> None:
    @flask_app.get("/", defaults={"path": ""})
    @flask_app.get("/<path:path>")
    def _ui(path: str) -> Response:
        if path == "api" or path.startswith("api/"):
            raise NotFound()
        if path:
            try:
                return send_from_directory(folder, path)
            except NotFound:
                if "." in path.rsplit("/", 1)[-1]:  # a missing asset, not a client route
                    raise
        response = send_from_directory(folder, "index.html")
        response.headers["Cache-Control"] = "no-cache"
        return response
