"""Aduan project configuration: settings, URLs, ASGI and Celery apps."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
