"""REST API for statements: list, detail with items and this node's money, CSV export; tariffs."""

from django.http import Http404, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from settlement import exports
from settlement.models import Statement, StatementItem, StatementStep, Tariff
from settlement.selectors_billing import statement_view, statements_for, tariffs_for


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


class ItemSerializer(serializers.ModelSerializer):
    pile = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = StatementItem
        fields = ["pile", "band", "energy_wh", "excluded", "tariff_price", "tariff_amount_cny", "disputed"]


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatementStep
        fields = ["action", "institution", "detail", "height", "tx_id"]


class TariffListView(APIView):
    @extend_schema(responses=TariffSerializer(many=True))
    def get(self, request):
        return Response(TariffSerializer(tariffs_for(request.user)[:500], many=True).data)


class StatementListView(APIView):
    @extend_schema(responses=StatementSerializer(many=True))
    def get(self, request):
        qs = statements_for(request.user)
        for key in ("period", "status"):
            if request.query_params.get(key):
                qs = qs.filter(**{key: request.query_params[key]})
        return Response(StatementSerializer(qs[:200], many=True).data)


def _statement(request, uid):
    statement = statements_for(request.user).filter(uid=uid).first()
    if statement is None:
        raise Http404
    return statement


class StatementDetailView(APIView):
    @extend_schema(responses=StatementSerializer)
    def get(self, request, uid):
        view = statement_view(request.user, _statement(request, uid))
        money = view["money"]
        return Response({
            **StatementSerializer(view["statement"]).data,
            "items": ItemSerializer(view["items"], many=True).data,
            "trail": StepSerializer(view["steps"], many=True).data,
            "area_meter_difference_wh": view["meter_difference_wh"],
            "money": None if money is None else {
                "with_terms": view["complete"], "subtotal": str(money.subtotal), "discount": str(money.discount),
                "total": str(money.total)},
        })


class StatementCsvView(APIView):
    @extend_schema(responses={200: None})
    def get(self, request, uid):
        view = statement_view(request.user, _statement(request, uid))
        data = exports.statement_csv(view["statement"], view["items"], view["money"] if view["complete"] else None)
        return HttpResponse(data, content_type="text/csv")
