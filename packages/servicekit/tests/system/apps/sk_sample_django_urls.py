"""URLs of the Django sample app."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


async def read_item(request: HttpRequest, item_id: int) -> JsonResponse:
    return JsonResponse({"item_id": item_id})


@csrf_exempt
async def upload(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"received": len(request.body)})


urlpatterns = [
    path("items/<int:item_id>", read_item),
    path("upload", upload),
]
