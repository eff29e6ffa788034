from django.conf import settings


def node(request):
    """What every page shows about the node it is served by."""
    return {"NODE_CODE": settings.NODE_CODE, "LOCAL_TIME_ZONE": settings.TIME_ZONE}
