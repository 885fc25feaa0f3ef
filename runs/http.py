"""Typed request for views: the user is authenticated and htmx details are parsed."""

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class StudioRequest(HttpRequest):
    user: AbstractBaseUser
    htmx: HtmxDetails
