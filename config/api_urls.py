"""The REST API root: every app's viewsets registered on one router, and its plain views."""

from django.urls import include, path
from rest_framework.routers import APIRootView, DefaultRouter

from calibration import api as calibration_api
from gateway import api as gateway_api
from ledger import api as ledger_api
from ledger.api_auth import AuthChallengeMixin
from monitoring import api as monitoring_api
from registry.api import register_routes as register_registry
from settlement import api as settlement_api
from subsidy import api as subsidy_api

DOMAIN_APIS = (gateway_api, monitoring_api, calibration_api, settlement_api, subsidy_api)

class ApiRoot(AuthChallengeMixin, APIRootView):
    """The list of the API's collections; anonymous callers get 401 with a challenge, as everywhere."""


class Router(DefaultRouter):
    APIRootView = ApiRoot


router = Router()
register_registry(router)
for app_api in DOMAIN_APIS:
    app_api.register_routes(router)

urlpatterns = [
    *ledger_api.urlpatterns,
    *[pattern for app_api in DOMAIN_APIS for pattern in app_api.urlpatterns],
    path("", include(router.urls)),
]
