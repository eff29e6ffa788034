from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.api_auth import AuthChallengeMixin
from settlement.models import ChargingSession, SessionStatus
from settlement.selectors.sessions import sessions_for


class SessionSerializer(serializers.ModelSerializer):
    pile = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ChargingSession
        fields = ["uid", "pile", "connector_id", "transaction_id", "id_tag", "protocol", "started_at", "stopped_at",
                  "meter_start_wh", "meter_stop_wh", "energy_wh", "stop_reason", "signed_data", "signature_ok",
                  "signature_detail", "signed_energy_wh", "status", "status_detail", "opened_tx", "opened_height",
                  "closed_tx", "closed_height", "held_reason", "parts", "settleable"]
        extra_kwargs = {"id_tag": {"help_text": "The driver's pseudonym: the operator node's keyed hash (HMAC-SHA256) "
                                                "of the OCPP id tag, 64 hex characters, or empty. The raw tag stays "
                                                "at the operator's node."}}


@extend_schema(parameters=[OpenApiParameter("pile", str, description="pile code"),
                           OpenApiParameter("status", str, enum=[c for c, _ in SessionStatus.choices])])
class SessionListView(AuthChallengeMixin, generics.ListAPIView):
    """Newest first, a page at a time (core.api.pagination)."""

    serializer_class = SessionSerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = sessions_for(self.request.user)
        params = self.request.query_params
        if params.get("pile"):
            qs = qs.filter(pile__code__iexact=params["pile"])
        if params.get("status"):
            if params["status"] not in SessionStatus.values:
                raise ValidationError({"status": [f"one of {', '.join(SessionStatus.values)}"]})
            qs = qs.filter(status=params["status"])
        return qs


class SessionDetailView(AuthChallengeMixin, APIView):
    @extend_schema(responses=SessionSerializer)
    def get(self, request, uid):
        return Response(SessionSerializer(get_object_or_404(sessions_for(request.user), uid=uid)).data)
