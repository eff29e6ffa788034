"""An anonymous call to any API operation is a 401 with a challenge (WWW-Authenticate), never a 403:
the client is told to authenticate, not that it may not (docs/api.md)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver


def api_paths() -> list[str]:
    """Every API route, its parameters filled with a plausible value."""
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/"):
                path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: "1" if "id" in m.group(1) else "X-1", route)
                path = re.sub(r"\(\?P<[^>]+>[^)]+\)", "X-1", path).replace("\\.", ".")
                if "(?" not in path and "format" not in path:
                    found.append("/" + path)

    walk(get_resolver().url_patterns)
    return sorted(set(found))


PUBLIC = {"/api/schema/", "/api/docs/", "/api/docs/swagger-ui.js"}


@pytest.mark.django_db
def test_no_anonymous_call_gets_a_403():
    client = Client()
    paths = [p for p in api_paths() if p not in PUBLIC]
    assert any(p.startswith("/api/gateway/") for p in paths) and len(paths) > 40
    wrong = {}
    for path in paths:
        response = client.get(path)
        if response.status_code == 403 or (response.status_code == 401 and not response.has_header("WWW-Authenticate")):
            wrong[path] = response.status_code
    assert wrong == {}
