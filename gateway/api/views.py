"""The gateway's API: connected piles, a pile's password, remote commands and their results."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway import selectors, services
from ledger.api_auth import AuthChallengeMixin
from gateway.access import visible_piles
from gateway.models import Presence, RemoteCommand


class PresenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Presence
        fields = ["pile_code", "connected", "protocol", "boot_status", "connected_at", "last_seen", "vendor", "model",
                  "firmware", "connectors"]


class CommandSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = RemoteCommand
        fields = ["id", "pile_code", "action", "params", "requested_by", "requested_at", "status", "response",
                  "answered_at"]


class CommandRequest(serializers.Serializer):
    action = serializers.ChoiceField(choices=["Reset", "ChangeAvailability", "UnlockConnector", "TriggerMessage"])
    params = serializers.DictField(required=False, default=dict)


class CredentialRequest(serializers.Serializer):
    password = serializers.CharField(required=False, allow_blank=True, min_length=16, max_length=40)


def _pile(request, code):
    return get_object_or_404(visible_piles(request.user), code__iexact=code)


class PileListView(AuthChallengeMixin, APIView):
    @extend_schema(responses=PresenceSerializer(many=True))
    def get(self, request):
        return Response(PresenceSerializer(selectors.presences_for(request.user), many=True).data)


class PileDetailView(AuthChallengeMixin, APIView):
    @extend_schema(responses=PresenceSerializer)
    def get(self, request, code):
        overview = selectors.pile_overview(request.user, code)
        data = PresenceSerializer(overview["presence"]).data if overview["presence"] else {
            "pile_code": overview["pile"].code, "connected": False,
        }
        credential = overview["credential"]
        data["credential"] = {"set_at": credential.set_at, "set_by": credential.set_by and credential.set_by.username} if credential else None
        return Response(data)


class CredentialView(AuthChallengeMixin, APIView):
    @extend_schema(request=CredentialRequest, responses=inline_serializer("NewPassword", {"password": serializers.CharField()}))
    def post(self, request, code):
        pile = _pile(request, code)
        body = CredentialRequest(data=request.data)
        body.is_valid(raise_exception=True)
        password = services.credential_set(actor=request.user, pile=pile.code, password=body.validated_data.get("password") or None)
        return Response({"pile": pile.code, "password": password}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, code):
        pile = _pile(request, code)
        services.credential_revoke(actor=request.user, pile=pile.code)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommandView(AuthChallengeMixin, APIView):
    @extend_schema(responses=CommandSerializer(many=True))
    def get(self, request, code):
        pile = _pile(request, code)
        return Response(CommandSerializer(RemoteCommand.objects.restrict(request.user).filter(pile_code=pile.code)[:50], many=True).data)

    @extend_schema(request=CommandRequest, responses=CommandSerializer)
    def post(self, request, code):
        pile = _pile(request, code)
        body = CommandRequest(data=request.data)
        body.is_valid(raise_exception=True)
        command = services.command_send(
            actor=request.user, pile=pile.code, action=body.validated_data["action"], params=body.validated_data["params"]
        )
        return Response(CommandSerializer(command).data, status=status.HTTP_200_OK)
