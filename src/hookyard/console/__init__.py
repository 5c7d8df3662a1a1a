"""The web console at `/console`: the integrator portal and the operator view, server-rendered
with Jinja2 and the vendored htmx, calling `hookyard.services` like the API does."""
