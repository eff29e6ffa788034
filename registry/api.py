def register_routes(router) -> None:
    """Registers the registry's viewsets on the API router."""
