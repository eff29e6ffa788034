"""REST API reads of statements: list, detail with items and this node's money, CSV export; the
tariff serializer (the tariff list is in writes.py, with publishing)."""

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import PAGE_PARAMETERS, PageInfoSerializer, Pages, lines_page, page_info, paginated
from core.api.schema import errors
from ledger.api_auth import AuthChallengeMixin
from settlement import exports
from settlement.models import Statement, StatementItem, StatementStep, Tariff
from settlement.selectors.billing import ITEMS_PER_PAGE, statement_view, statements_for


class TariffSerializer(serializers.ModelSerializer):
    area = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Tariff
        fields = ["uid", "area", "valid_from", "windows", "prices", "published_by", "height", "tx_id"]


class StatementSerializer(serializers.ModelSerializer):
    area = serializers.SlugRelatedField(slug_field="code", read_only=True)
    operator = serializers.SlugRelatedField(slug_field="code", read_only=True)
    grid = serializers.SlugRelatedField(slug_field="code", read_only=True)
    corrects = serializers.SlugRelatedField(slug_field="uid", read_only=True)

    class Meta:
        model = Statement
        fields = ["uid", "area", "operator", "grid", "period", "status", "terms_commitment", "energy_wh", "excluded_wh",
                  "tariff_amount_cny", "area_meter_wh", "corrects", "correction_reason", "operator_hash", "grid_hash",
                  "height", "changed_height"]


class StatementItemSerializer(serializers.ModelSerializer):
    pile = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = StatementItem
        fields = ["pile", "band", "energy_wh", "excluded", "tariff_price", "tariff_amount_cny", "disputed"]


class StatementStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatementStep
        fields = ["action", "institution", "detail", "height", "tx_id"]


# A view that answers with a file DRF does not render: a client asking for that file's type
# (Accept: application/pdf) must not get a 406; errors still come out as JSON, the first renderer.
class FileView(AuthChallengeMixin, APIView):
    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)


STATEMENT_FILTERS = {"period": "period", "status": "status", "area": "area__code__iexact",
                     "operator": "operator__code__iexact", "corrects": "corrects__uid"}


class StatementListView(AuthChallengeMixin, APIView):
    pagination_class = Pages

    @extend_schema(parameters=[
        OpenApiParameter("period", str, description="YYYY-MM"), OpenApiParameter("status", str),
        OpenApiParameter("area", str, description="grid area code"), OpenApiParameter("operator", str),
        OpenApiParameter("corrects", OpenApiTypes.UUID, description="the corrections of this statement"),
    ], responses=StatementSerializer(many=True))
    def get(self, request):
        qs = statements_for(request.user)
        for key, lookup in STATEMENT_FILTERS.items():
            value = request.query_params.get(key)
            if value and key == "corrects":
                try:
                    value = serializers.UUIDField().run_validation(value)
                except ValidationError as exc:
                    raise ValidationError({key: exc.detail}) from exc
            if value:
                qs = qs.filter(**{lookup: value})
        return paginated(self, qs.order_by("-period", "area__code", "operator__code", "-height", "uid"),
                         StatementSerializer)


def _statement(request, uid):
    statement = statements_for(request.user).filter(uid=uid).first()
    if statement is None:
        raise Http404
    return statement


class StatementDetailSerializer(StatementSerializer):
    """For the schema: the statement with a page of its items (core.api.pagination)."""

    items = StatementItemSerializer(many=True)
    items_page = PageInfoSerializer()
    trail = StatementStepSerializer(many=True)
    area_meter_difference_wh = serializers.IntegerField(allow_null=True)
    money = serializers.DictField(allow_null=True, help_text="with_terms, subtotal, discount, total: as this node computes them")

    class Meta(StatementSerializer.Meta):
        fields = [*StatementSerializer.Meta.fields, "items", "items_page", "trail", "area_meter_difference_wh", "money"]


class StatementDetailView(AuthChallengeMixin, APIView):
    @extend_schema(parameters=PAGE_PARAMETERS, responses={200: StatementDetailSerializer, **errors(401, 404)})
    def get(self, request, uid):
        view = statement_view(request.user, _statement(request, uid))
        money = view["money"]
        # An item per pile and band: thousands for a large operator, so a page of them at a time.
        page = lines_page(request, view["items"], default_size=ITEMS_PER_PAGE)
        return Response({
            **StatementSerializer(view["statement"]).data,
            "items": StatementItemSerializer(page.object_list, many=True).data,
            "items_page": page_info(request, page),
            "trail": StatementStepSerializer(view["steps"], many=True).data,
            "area_meter_difference_wh": view["meter_difference_wh"],
            "money": None if money is None else {
                "with_terms": view["complete"], "subtotal": str(money.subtotal), "discount": str(money.discount),
                "total": str(money.total)},
        })


class StatementCsvView(FileView):
    @extend_schema(summary="The statement as CSV, at once (exports/ makes it as a job)",
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY), **errors(401, 404)})
    def get(self, request, uid):
        view = statement_view(request.user, _statement(request, uid))
        data = exports.statement_csv(view["statement"], view["items"], view["money"] if view["complete"] else None)
        return HttpResponse(data, content_type="text/csv")
