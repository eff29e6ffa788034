from django.urls import path

from registry.views import objects, tokens

app_name = "registry"


def object_urls(prefix: str, name: str, list_view, detail_view, edit_view, lookup: str = "code") -> list:
    """The four pages every registry object has, named <name>_list/_detail/_create/_edit."""
    return [
        path(f"{prefix}/", list_view.as_view(), name=f"{name}_list"),
        path(f"{prefix}/new/", edit_view.as_view(), name=f"{name}_create"),
        path(f"{prefix}/<str:lookup>/", detail_view.as_view(), name=f"{name}_detail"),
        path(f"{prefix}/<str:lookup>/edit/", edit_view.as_view(), name=f"{name}_edit"),
    ]


urlpatterns = [
    *object_urls(
        "grid-areas", "gridarea", objects.GridAreaListView, objects.GridAreaDetailView, objects.GridAreaEditView
    ),
    *object_urls("stations", "station", objects.StationListView, objects.StationDetailView, objects.StationEditView),
    *object_urls("piles", "pile", objects.PileListView, objects.PileDetailView, objects.PileEditView),
    path("piles/<str:lookup>/connectors/new/", objects.PileConnectorAddView.as_view(), name="pile_connector_add"),
    path("piles/<str:lookup>/keys/new/", objects.PileKeyAddView.as_view(), name="pile_key_add"),
    *object_urls(
        "test-boxes", "testbox", objects.TestBoxListView, objects.TestBoxDetailView, objects.TestBoxEditView
    ),
    path("test-boxes/<str:lookup>/keys/new/", objects.TestBoxKeyAddView.as_view(), name="testbox_key_add"),
    path("keys/<str:fingerprint>/revoke/", objects.device_key_revoke, name="devicekey_revoke"),
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/<str:prefix>/revoke/", tokens.token_revoke, name="token_revoke"),
]
