"""The WSGI entry point for production servers (waitress, gunicorn).

    waitress-serve --host 0.0.0.0 --port 8000 --call 'udo.api.wsgi:create'
    gunicorn 'udo.api.wsgi:create()'

Settings come from the environment as everywhere (UDO_API__TOKEN is required off
loopback). The queues are drained by a separate `udo worker`, not by the web server.
"""

from __future__ import annotations

from typing import Any

from udo.api.app import create_app
from udo.bootstrap import bootstrap


def create() -> Any:
    """A Flask app over the configured services, without the in-process scheduler."""
    from udo.api.options import ApiOptions

    app = bootstrap()
    return create_app(app, options=ApiOptions.from_settings(app.settings))
