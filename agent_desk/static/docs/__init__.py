"""Swagger UI, served at /docs from the package (no CDN)."""
