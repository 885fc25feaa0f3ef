"""The JSON API (django-ninja) used by the SDK and the CLI; mounted at /api/ (runs.api.urls)."""
