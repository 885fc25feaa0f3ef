"""Sign-in throttling (django-axes): who is signing in, and the page a locked-out
person sees.

After STUDIO_LOGIN_FAILURE_LIMIT wrong passwords in a row for one username, or from
one address, that username or address is locked out for STUDIO_LOGIN_LOCKOUT_MINUTES
(each further try during the lockout starts it again); a right password resets the
count. An administrator lifts a lockout in the admin (Axes: access attempts) or with
`manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS` / `axes_reset`.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from runs.views.helpers import same_site_path


class SignInThrottle(AxesStandaloneBackend):
    """Axes' check before the password is tried; authentication without a request (a
    script, the shell, tests' `Client.login`) is not a sign-in from the web and passes."""

    def authenticate(self, request: HttpRequest | None, *args, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def client_ip(request: HttpRequest) -> str:
    """The address a sign-in comes from: behind a proxy (BEHIND_PROXY), the address the
    proxy saw, which it appended last to X-Forwarded-For (the ones before it are the
    client's word); otherwise the connection's."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """429: the sign-in page, saying why and for how long, with Retry-After."""
    minutes = settings.STUDIO_LOGIN_LOCKOUT_MINUTES
    span = f"{minutes:g} minute" + ("" if minutes == 1 else "s")
    ctx = {
        "form": AuthenticationForm(request),
        "next": same_site_path(request.POST.get("next", ""), ""),
        "locked_out": (
            f"Too many failed sign-ins for this username or from this address: signing in "
            f"is locked for {span} (each try meanwhile starts the wait again). An "
            "administrator can unlock it now."
        ),
    }
    response = render(request, "registration/login.html", ctx, status=429)
    response["Retry-After"] = str(int(minutes * 60))
    return response
