"""Generic test cases in NetBox's spirit: one class per kind of check; a concrete test supplies data.

A concrete API test sets, e.g.:

    class TestPileAPI(APIEndpointCase):
        endpoint = "piles"
        lookup = "code"
        visible = {"a_manager": {"PILE-A1", "PILE-B1"}, ...}        # username -> ids listed
        private_fields = ("vendor",)
        private_visible = {"a_manager": {"PILE-A1"}, ...}          # username -> ids with private fields
        create = [("a_manager", {...}, 201), ("b_manager", {...}, 403)]
        update = [("a_manager", "PILE-A1", {...}, 200), ("b_manager", "PILE-A1", {...}, 403)]

and inherits every test below. Users not named in `visible` must see nothing.
"""

from __future__ import annotations


from tests.conftest import ALL_USERNAMES


def assert_error_body(response, status: int, *fields: str) -> dict:
    """The project's API error body, with the given field keys among its field errors."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["status"] == status
    for field in fields:
        assert field in error["fields"], error
    return error


def row_counts() -> dict[str, int]:
    """Row counts of every registry model, to prove a refused write left nothing behind (but the
    security log, where a refusal is recorded)."""
    from django.apps import apps

    return {model.__name__: model._default_manager.count() for model in apps.get_app_config("registry").get_models()
            if model.__name__ != "SecurityEvent"}


class APIEndpointCase:
    endpoint = ""
    lookup = ""
    visible: dict[str, set[str]] = {}
    private_fields: tuple[str, ...] = ()
    private_visible: dict[str, set[str]] = {}
    # (username, payload, expected status)
    create: list[tuple[str, dict, int]] = []
    # (username, public id, payload, expected status)
    update: list[tuple[str, str, dict, int]] = []

    def url(self, public_id: str | None = None) -> str:
        return f"/api/{self.endpoint}/" + (f"{public_id}/" if public_id else "")

    def test_anonymous_is_refused(self, world, api_client):
        response = api_client(None).get(self.url())
        assert response.status_code == 401
        assert response.json()["error"]["status"] == 401
        assert response.has_header("WWW-Authenticate")

    def test_each_user_lists_what_they_may_see(self, world, api_client):
        for username in ALL_USERNAMES:
            response = api_client(username).get(self.url(), {"page_size": 1000})
            assert response.status_code == 200, (username, response.content)
            listed = {str(row[self.lookup]) for row in response.json()["results"]}
            assert listed == self.visible.get(username, set()), username

    def test_detail_of_invisible_object_is_404(self, world, api_client):
        every = set().union(*self.visible.values()) if self.visible else set()
        for username in ALL_USERNAMES:
            for public_id in every - self.visible.get(username, set()):
                assert api_client(username).get(self.url(public_id)).status_code == 404, (username, public_id)

    def test_private_fields_only_for_those_entitled(self, world, api_client):
        if not self.private_fields:
            # Nothing is private here: then every user who sees an object sees the same fields.
            shapes = {}
            for username in ALL_USERNAMES:
                for public_id in self.visible.get(username, set()):
                    shapes.setdefault(public_id, set()).add(frozenset(api_client(username).get(self.url(public_id)).json()))
            assert all(len(s) == 1 for s in shapes.values()), shapes
            return
        for username in ALL_USERNAMES:
            for public_id in self.visible.get(username, set()):
                body = api_client(username).get(self.url(public_id)).json()
                shown = all(field in body for field in self.private_fields)
                hidden = not any(field in body for field in self.private_fields)
                expected = public_id in self.private_visible.get(username, set())
                assert (shown if expected else hidden), (username, public_id, body)

    def test_create(self, world, api_client):
        for username, payload, status in self.create:
            before = row_counts()
            response = api_client(username).post(self.url(), payload, format="json")
            assert response.status_code == status, (username, payload, response.content)
            if status >= 400:
                assert "error" in response.json()
                assert row_counts() == before, (username, payload)

    def test_update(self, world, api_client):
        for username, public_id, payload, status in self.update:
            response = api_client(username).patch(self.url(public_id), payload, format="json")
            assert response.status_code == status, (username, public_id, response.content)
            if status == 200:
                for field, value in payload.items():
                    assert str(response.json()[field]) == str(value)

    def test_delete_is_not_offered(self, world, api_client):
        some = sorted(self.visible.get("admin", set()))
        if some:
            assert api_client("admin").delete(self.url(some[0])).status_code == 405


class PageCase:
    """Generic checks of one model's list, detail, create and edit pages."""

    list_url = ""
    detail_url = ""  # a format string with {id}
    create_url = ""
    edit_url = ""  # a format string with {id}
    visible: dict[str, set[str]] = {}
    # Text of a private field per object id, which must appear only for the entitled.
    private_text: dict[str, str] = {}
    private_visible: dict[str, set[str]] = {}
    # username -> ids they may edit (others get 403, or 404 if they cannot see the object)
    editable: dict[str, set[str]] = {}
    creators: set[str] = set()

    def test_anonymous_is_sent_to_login(self, world, user_client):
        some = sorted(self.visible["admin"])[0]
        for url in (self.list_url, self.detail_url.format(id=some), self.create_url, self.edit_url.format(id=some)):
            response = user_client(None).get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/accounts/login/"), url

    def test_list_shows_what_each_user_may_see(self, world, user_client):
        every = set().union(*self.visible.values())
        for username in ALL_USERNAMES:
            content = user_client(username).get(self.list_url).content.decode()
            for public_id in every:
                link = self.detail_url.format(id=public_id)
                assert (link in content) == (public_id in self.visible.get(username, set())), (username, public_id)

    def test_detail_and_private_fields(self, world, user_client):
        every = set().union(*self.visible.values())
        for username in ALL_USERNAMES:
            client = user_client(username)
            for public_id in every:
                response = client.get(self.detail_url.format(id=public_id))
                if public_id not in self.visible.get(username, set()):
                    assert response.status_code == 404, (username, public_id)
                    continue
                assert response.status_code == 200
                if public_id in self.private_text:
                    expected = public_id in self.private_visible.get(username, set())
                    assert (self.private_text[public_id] in response.content.decode()) == expected, (
                        username, public_id,
                    )

    def test_edit_and_create_rights(self, world, user_client):
        every = set().union(*self.visible.values())
        for username in ALL_USERNAMES:
            client = user_client(username)
            create_status = client.get(self.create_url).status_code
            assert create_status == (200 if username in self.creators else 403), (username, create_status)
            for public_id in every:
                status = client.get(self.edit_url.format(id=public_id)).status_code
                if public_id in self.editable.get(username, set()):
                    assert status == 200, (username, public_id)
                elif public_id in self.visible.get(username, set()):
                    assert status == 403, (username, public_id)
                else:
                    assert status == 404, (username, public_id)
