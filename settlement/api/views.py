from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_auth import AuthChallengeMixin
from settlement.models import ChargingSession
from settlement.selectors import sessions_for


class SessionSerializer(serializers.ModelSerializer):
    pile = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ChargingSession
        fields = ["uid", "pile", "connector_id", "transaction_id", "id_tag", "protocol", "started_at", "stopped_at",
                  "meter_start_wh", "meter_stop_wh", "energy_wh", "stop_reason", "signed_data", "signature_ok",
                  "signature_detail", "signed_energy_wh", "status", "status_detail", "opened_tx", "opened_height",
                  "closed_tx", "closed_height", "held_reason", "parts", "settleable"]


class SessionListView(AuthChallengeMixin, APIView):
    @extend_schema(responses=SessionSerializer(many=True))
    def get(self, request):
        qs = sessions_for(request.user)
        if request.query_params.get("pile"):
            qs = qs.filter(pile__code__iexact=request.query_params["pile"])
        if request.query_params.get("status"):
            qs = qs.filter(status=request.query_params["status"])
        return Response(SessionSerializer(qs[:200], many=True).data)


class SessionDetailView(AuthChallengeMixin, APIView):
    @extend_schema(responses=SessionSerializer)
    def get(self, request, uid):
        return Response(SessionSerializer(get_object_or_404(sessions_for(request.user), uid=uid)).data)
