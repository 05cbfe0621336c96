"""Django app registration for the indoor maps models."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["IndoorMapsConfig"]


class IndoorMapsConfig(AppConfig):
    name = "indoormaps"
    label = "indoormaps"
    verbose_name = "Indoor maps"
    default_auto_field = "django.db.models.BigAutoField"
