"""The HTTP API: a Flask app factory (`udo.api.app.create_app`), blueprints by area
(meta, specs, datasets, runs, queues, events), errors as JSON, bearer-token auth, CORS and
the OpenAPI document. Flask is imported only by the modules of this package."""
