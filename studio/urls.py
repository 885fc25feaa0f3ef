"""URL routes: the studio pages, the JSON API, auth and admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("runs.api.urls")),
    path("", include("runs.urls")),
]
