"""Error pages (issue #13, section 3): DEBUG is off unless asked for; a failure answers a page in the
site's layout, in the user's language, usable on a phone, with no URL list, setting or traceback, and
/favicon.ico exists. The last tests start a real server process with DEBUG unset."""

from __future__ import annotations

import json
import os
import re
from types import SimpleNamespace

import pytest
import requests
from django.test import Client, RequestFactory
from django.utils import translation

from tests.processes import asgi_server, free_port, manage, node_env, shared_database_url, wait_for

LANGUAGES = ("en", "zh-hans")
WORDS = {
    "en": {
        400: "Bad request", 403: "Access denied", 404: "Page not found", 405: "Not allowed this way",
        500: "Server error", "csrf": "The form was not accepted", "too_large": "The request body is too large.",
        "tokens": "API tokens are issued by the managers of an institution.", "home": "Go to the home page",
    },
    "zh-hans": {
        400: "请求有误", 403: "无权访问", 404: "页面不存在", 405: "不能以这种方式访问", 500: "服务器错误",
        "csrf": "表单未被接受", "too_large": "请求体过大。",
        "tokens": "API 令牌由各单位的管理员签发。", "home": "返回首页",
    },
}
# What Django's debug pages show (and what must never reach a visitor): the URL patterns tried, the
# settings, a traceback, the request's internals.
DEBUG_MARKERS = ("URLconf", "DEBUG = True", "Traceback", "SECRET_KEY", "DATABASES", "Request Method",
                 "urlpatterns", "technical", "Django tried these URL patterns")
ICO_MAGIC = b"\x00\x00\x01\x00"


def assert_error_page(html: str, language: str, heading) -> None:
    """A page of the site: its layout and stylesheet, a phone's viewport, the heading in the language."""
    assert f'<html lang="{language}">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert re.search(r'<link rel="stylesheet" href="/static/css/pilechain\.css">', html)
    assert '<header class="topbar">' in html and 'id="error-page"' in html
    assert f"<h1>{WORDS[language][heading]}</h1>" in html, html
    assert WORDS[language]["home"] in html
    leaked = [marker for marker in DEBUG_MARKERS if marker in html]
    assert leaked == [], leaked


# --- DEBUG ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("environment", "debug"),
    [
        ({"DEBUG": None}, "False"),
        ({"DEBUG": "1"}, "True"),
        ({"DEBUG": "1", "PILECHAIN_PRODUCTION": "1", "ALLOWED_HOSTS": "pilechain.example.org",
          "SECRET_KEY": "k3y-" + "".join(chr(97 + (i * 7) % 26) for i in range(60))}, "False"),
    ],
    ids=["unset", "asked-for", "production-ignores-it"],
)
def test_debug_is_off_unless_asked_for_outside_production(environment, debug):
    env = node_env(PILECHAIN_EMBEDDED_REDIS_AUTOSTART="0", **environment)
    shown = manage("shell", "-v", "0", "-c", "from django.conf import settings; print(settings.DEBUG)", env=env)
    assert shown.stdout.strip() == debug, shown.stderr


# --- the pages, as the test client gets them --------------------------------------------------------

@pytest.fixture
def member(django_user_model):
    """Logged in, but neither a manager nor an administrator."""
    user = django_user_model.objects.create_user("pages-member", password="pw-for-the-error-pages-1")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unknown_address_is_a_404_page(client, member, language):
    anonymous = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=language)
    assert anonymous.status_code == 404
    assert_error_page(anonymous.content.decode(), language, 404)
    # Signed in, the page keeps the site's menu (and the way to log out).
    signed_in = member.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert_error_page(signed_in, language, 404)
    assert 'id="logout-button"' in signed_in and 'id="language-select"' in signed_in


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_404_from_a_view_does_not_repeat_its_exception(member, language):
    """get_object_or_404 says "No ApiToken matches the given query.": the model is not the visitor's business."""
    response = member.post("/registry/tokens/no-such-prefix/revoke/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    html = response.content.decode()
    assert_error_page(html, language, 404)
    assert "matches the given query" not in html and "ApiToken" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_api_tokens_link_refuses_with_a_403_page_that_says_why(member, language):
    response = member.get("/registry/tokens/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 403
    html = response.content.decode()
    assert_error_page(html, language, 403)
    assert f'<p id="error-reason">{WORDS[language]["tokens"]}</p>' in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_visit_to_a_button_s_address_is_a_405_page_that_keeps_allow(member, language):
    # Django's require_POST answers an empty body; the page says what to do instead.
    response = member.get("/registry/tokens/abc/revoke/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert_error_page(response.content.decode(), language, 405)


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_malformed_form_post_is_a_400_page_and_a_body_over_the_limit_a_413(client, settings, language):
    fields = "&".join(f"f{i}=1" for i in range(1001))  # DATA_UPLOAD_MAX_NUMBER_FIELDS is 1000
    response = client.post("/accounts/login/", fields, content_type="application/x-www-form-urlencoded",
                           HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    assert_error_page(response.content.decode(), language, 400)

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post("/accounts/login/", {"username": "x" * 2048, "password": "y"}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 413
    html = response.content.decode()
    assert_error_page(html, language, 400)
    assert WORDS[language]["too_large"] in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_form_without_its_csrf_token_is_a_403_page(language):
    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "someone", "password": "anything"}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 403
    assert_error_page(response.content.decode(), language, "csrf")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_500_page_needs_neither_the_database_nor_the_request(language):
    """No django_db mark: a query would fail the test. The request went through no middleware: it
    has no session and no user."""
    from core import error_views

    request = RequestFactory().get("/registry/piles/")
    with translation.override(language):
        response = error_views.server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert_error_page(html, language, 500)
    assert 'id="language-select"' not in html and 'id="logout-button"' not in html


@pytest.mark.django_db
def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(response.streaming_content).startswith(ICO_MAGIC)


# --- a real server, started as the run command starts it, with DEBUG unset ------------------------------

def _get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=10, allow_redirects=True, **kwargs)


@pytest.fixture
def served(tmp_path):
    """Start uvicorn with DEBUG unset and the given environment; gives its base URL and its log."""
    servers = []

    def start(**environment):
        port = free_port()
        env = node_env(DEBUG=None, PILECHAIN_NODE=f"pages{os.getpid()}", **environment)
        log = tmp_path / f"web-{port}.log"
        server = asgi_server(env, log, port)
        server.__enter__()
        servers.append(server)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _get(base + "/favicon.ico").status_code == 200, timeout=60, what="the web server")
        return SimpleNamespace(url=base, log=log)

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_server_started_without_debug_answers_styled_pages_and_serves_its_static_files(served):
    base = served(DATABASE_URL=shared_database_url()).url
    for language in LANGUAGES:
        page = _get(base + "/no-such-page/", headers={"Accept-Language": language})
        assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
        assert_error_page(page.text, language, 404)
    # Whitenoise serves the stylesheet and the icon with DEBUG off, without collectstatic.
    stylesheet = _get(base + re.search(r'href="(/static/css/pilechain\.css)"', page.text).group(1))
    assert stylesheet.status_code == 200 and stylesheet.headers["Content-Type"].startswith("text/css")
    assert ".error-card" in stylesheet.text
    icon = _get(base + "/favicon.ico")
    assert icon.status_code == 200 and icon.content.startswith(ICO_MAGIC)
    api = _get(base + "/api/settlement/jobs/not-a-uuid/")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


@pytest.mark.slow
def test_a_server_whose_database_is_down_answers_a_styled_500_page_and_the_api_error_body(served):
    """Port 1 refuses at once: every query fails, and the 500 page must not need one."""
    server = served(DATABASE_URL="postgres://pilechain@127.0.0.1:1/unreachable")
    session = {"sessionid": "x" * 32}  # loading it is a query
    for language in LANGUAGES:
        page = _get(server.url + "/", cookies=session, headers={"Accept-Language": language})
        assert page.status_code == 500
        assert_error_page(page.text, language, 500)
    api = _get(server.url + "/api/piles/", headers={"Authorization": "Token no-such-key"})
    assert api.status_code == 500
    assert api.json()["error"] == {"status": 500, "code": "server_error", "detail": api.json()["error"]["detail"],
                                   "fields": {}}
    # Each failure is logged once, and so is each request, though the request log cannot learn the user.
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    failures = [line for line in lines if line["logger"] == "django.request" and line.get("status_code") == 500]
    requests_logged = [line for line in lines if line["logger"] == "pilechain.request" and line["status"] == 500]
    assert len(failures) == len(requests_logged) == 3, lines
