"""The JSON API (django-ninja); its OpenAPI document is served at /api/openapi.json."""
