"""REST API of the monitoring app: viewsets on the shared router, plus plain views."""


def register_routes(router) -> None:
    """Register this app's viewsets on the API's router."""


urlpatterns: list = []
