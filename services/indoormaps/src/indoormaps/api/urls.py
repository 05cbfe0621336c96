"""URL table of the HTTP API (Django's ROOT_URLCONF; see django_settings.build_django_settings)."""

from __future__ import annotations

from django.urls import path

from indoormaps.api import features, ogc, pages, routes
from indoormaps.api.openapi import schema_view

__all__ = ["handler404", "handler500", "urlpatterns"]

urlpatterns = [
    path("api/rooms/", features.rooms),
    path("api/base-floor/", features.base_floor),
    path("api/layers/", features.layer_list),
    path("api/layers/<str:layer>/", features.layer_page),
    path("api/layers/<str:layer>/stream", features.layer_stream),
    path("api/layers/<str:layer>/seq", features.layer_seq),
    path("api/route/", routes.route),
    path("api/reachable/", routes.reachable),
    path("api/schema/", schema_view),
    path("ogc", ogc.landing),
    path("ogc/", ogc.landing),
    path("ogc/conformance", ogc.conformance),
    path("ogc/collections", ogc.collections),
    path("ogc/collections/<str:collection_id>", ogc.collection),
    path("ogc/collections/<str:collection_id>/items", ogc.items),
    path("ogc/collections/<str:collection_id>/items/<str:feature_id>", ogc.item),
    path("", pages.index),
    path("map/", pages.map_page),
    path("static/<path:name>", pages.static_file),
]

handler404 = "indoormaps.api.pages.not_found"
handler500 = "indoormaps.api.pages.server_error"
