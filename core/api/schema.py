"""Bodies every API endpoint shares, for the OpenAPI schema: the 202 of a write (ledger.api.accepted)
and the one error body (core.api.errors)."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class AcceptedSerializer(serializers.Serializer):
    """A write became a pending transaction: follow `transaction` (also the Location header)."""

    tx_id = serializers.CharField()
    status = serializers.CharField()
    type = serializers.CharField()
    transaction = serializers.CharField()
    object = serializers.CharField(required=False, help_text="where the result will be once committed")


class ErrorDetailSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="each offending field (or non_field_errors) and its messages")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_MEANINGS = {
    400: "invalid input, or refused by the contract's dry run",
    401: "not authenticated",
    403: "not allowed to do this",
    404: "no such object, or one the caller may not see",
}


def errors(*codes: int) -> dict:
    """Error responses for extend_schema(responses=...)."""
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_MEANINGS[code]) for code in codes}


def accepted_responses(*error_codes: int) -> dict:
    return {202: AcceptedSerializer, **errors(*error_codes)}
