"""How the API hands out long answers a page at a time.

Lists: `?page=` and `?page_size=` (50 by default, at most 1000), answered as
`{"count", "next", "previous", "results"}`. An object with many lines of its own (a statement's items,
a claim's lines) answers one page of them with a `*_page` object saying where that page stands:
`{"count", "page", "pages", "next", "previous"}`, the same two query parameters choosing the page.
A page that does not exist is a 404, a page size that is not a positive whole number a 400.
"""

from __future__ import annotations

from django.core.paginator import InvalidPage, Page, Paginator
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.utils.urls import replace_query_param

MAX_PAGE_SIZE = 1000


class Pages(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        # DRF falls back to the default on a bad value; the API says what is wrong instead.
        if self.page_size_query_param in request.query_params:
            return page_size(request, default=self.page_size)
        return self.page_size


def paginated(view, queryset, serializer_class=None, *, render=None, context=None):
    """A list answer from a plain APIView (which sets `pagination_class = Pages` for the schema): the
    page's rows through `serializer_class`, or through `render` (rows -> list)."""
    pages = Pages()
    rows = pages.paginate_queryset(queryset, view.request, view=view)
    data = render(rows) if render is not None else serializer_class(rows, many=True, context=context or {}).data
    return pages.get_paginated_response(data)


def page_size(request, *, default: int) -> int:
    raw = request.query_params.get("page_size")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValidationError({"page_size": [f"a whole number from 1 to {MAX_PAGE_SIZE}"]})
    return min(value, MAX_PAGE_SIZE)


def lines_page(request, rows, *, default_size: int) -> Page:
    """The page of `rows` (a queryset or a list) that the request names; 404 when there is none."""
    paginator = Paginator(rows, page_size(request, default=default_size))
    try:
        return paginator.page(request.query_params.get("page", 1))
    except InvalidPage as exc:  # not a number, below 1 or past the last page
        raise NotFound("Invalid page.") from exc


def page_info(request, page: Page) -> dict:
    """Where a page of an object's lines stands, with the addresses of the pages beside it."""
    url = request.build_absolute_uri()
    return {
        "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages,
        "next": replace_query_param(url, "page", page.next_page_number()) if page.has_next() else None,
        "previous": replace_query_param(url, "page", page.previous_page_number()) if page.has_previous() else None,
    }


class PageInfoSerializer(serializers.Serializer):
    """For the schema: where a page of an object's lines stands."""

    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="the page of the lines (from 1)"),
    OpenApiParameter("page_size", int, description=f"lines per page (at most {MAX_PAGE_SIZE})"),
]
