"""REST endpoints of the ledger: submit transactions, receipts, block headers with certificates,
node status. Reads come from this node's tables; anyone holding the consortium's public keys can
check what they return with ledger.chain.lightclient, trusting no single node."""

from __future__ import annotations

from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.api_auth import AuthChallengeMixin
from ledger import selectors, services
from ledger.chain.tx import Transaction, TxFormatError
from ledger.contracts import ContractRejected
from ledger.execution import validation_reason
from ledger.models import Block
from ledger.runtime import node

MAX_BLOCKS_PER_PAGE = 500

_result = inline_serializer(
    "SubmitResult",
    {"tx_id": serializers.CharField(allow_null=True), "status": serializers.CharField(),
     "error": serializers.CharField(), "height": serializers.IntegerField(allow_null=True)},
)


def accepted(submission, *, object_url: str | None = None) -> Response:
    """What a write endpoint answers once its service queued a transaction: 202 with where to follow
    it (the transaction's receipt) and, once committed, where the result will be."""
    body = {
        "tx_id": submission.tx_id,
        "status": submission.status,
        "type": submission.type,
        "transaction": reverse("ledger-transaction", args=[submission.tx_id]),
    }
    if object_url:
        body["object"] = object_url
    headers = {"Location": body["transaction"]}
    return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)


class TransactionsView(AuthChallengeMixin, APIView):
    @extend_schema(
        summary="Submit signed transactions (one object, or a list for a batch), or have this node sign "
                "{type, payload} for your institution (managers)",
        request=OpenApiTypes.OBJECT,
        responses={202: _result, 400: None},
    )
    def post(self, request):
        if not node.configured():
            return Response({"error": {"status": 503, "code": "not_configured", "detail": "no consortium", "fields": {}}},
                            status=503)
        if isinstance(request.data, dict) and "signature" not in request.data and "type" in request.data:
            return self._on_behalf(request)
        batch = isinstance(request.data, list)
        items = request.data if batch else [request.data]
        try:
            results = services.tx_submit(transactions=items, submitted_by=request.user)
        except services.SubmitError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        body = [r.__dict__ for r in results]
        if not batch and results[0].status == "invalid":
            raise ValidationError({"transaction": [results[0].error]})
        return Response(body if batch else body[0], status=status.HTTP_202_ACCEPTED)


    def _on_behalf(self, request):
        """{"type", "payload"} without a signature: this node signs it for the user's institution.
        Institution-level authority, so managers only; the contract still decides."""
        user = request.user
        institution = getattr(user, "institution", None)
        if not user.is_authenticated or institution is None or getattr(user, "staff_role", "") != "manager":
            raise PermissionDenied("only a manager of a member institution may have this node sign for it")
        unknown = set(request.data) - {"type", "payload"}
        if unknown or not isinstance(request.data.get("payload"), dict) or not isinstance(request.data["type"], str):
            raise ValidationError({"transaction": ["send {\"type\": ..., \"payload\": {...}} or a signed transaction"]})
        try:
            submission = services.node_submit(type=request.data["type"], payload=request.data["payload"],
                                              submitted_by=user, institution=institution.code)
        except node.NotHosted as exc:
            raise PermissionDenied(str(exc)) from exc
        except ContractRejected as exc:
            raise ValidationError({"transaction": [exc.reason]}) from exc
        except DjangoValidationError as exc:
            raise ValidationError({"transaction": [validation_reason(exc)]}) from exc
        except (TxFormatError, TypeError, ValueError) as exc:
            raise ValidationError({"transaction": [f"malformed transaction: {exc}"]}) from exc
        return accepted(submission)


class TransactionDetailView(AuthChallengeMixin, APIView):
    @extend_schema(summary="A transaction's status and, once committed, its receipt (Merkle proof)",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, tx_id: str):
        found = selectors.tx_receipt(tx_id.lower())
        if found is None:
            raise NotFound("no such transaction on this node")
        return Response(found)


def _header_item(block: Block, with_txs: bool, user=None) -> dict:
    item = {"height": block.height, "hash": block.hash, "header": block.header, "certificate": block.certificate,
            "state_root_after": block.state_root_after, "applied": block.applied}
    if with_txs:
        # Payloads may hold what only some institutions may see (a station's contacts, a pile's
        # serial number): whole transactions for platform administrators and the regulator, their
        # ids (all a Merkle proof needs) for everyone else.
        if _sees_payloads(user):
            item["txs"] = block.txs
        item["tx_ids"] = [Transaction.from_dict(t).id for t in block.txs]
    return item


def _sees_payloads(user) -> bool:
    institution = getattr(user, "institution", None)
    return bool(getattr(user, "is_superuser", False) or (institution is not None and institution.role == "regulator"))


class BlocksView(AuthChallengeMixin, APIView):
    @extend_schema(
        summary="Block headers with their commit certificates, in height order",
        operation_id="ledger_blocks_list",
        parameters=[OpenApiParameter("from_height", int), OpenApiParameter("limit", int)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        try:
            start = int(request.query_params.get("from_height", 1))
            limit = min(int(request.query_params.get("limit", 100)), MAX_BLOCKS_PER_PAGE)
        except ValueError as exc:
            raise ValidationError({"from_height": ["must be an integer"]}) from exc
        blocks = Block.objects.filter(height__gte=start).order_by("height")[: max(limit, 1)]
        return Response({"results": [_header_item(b, with_txs=False) for b in blocks]})


class BlockDetailView(AuthChallengeMixin, APIView):
    @extend_schema(summary="One block with its transactions", operation_id="ledger_block_retrieve", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, height: int):
        block = Block.objects.filter(height=height).first()
        if block is None:
            raise NotFound("no such block on this node")
        return Response(_header_item(block, with_txs=True, user=request.user))


class StatusView(AuthChallengeMixin, APIView):
    @extend_schema(summary="This node's ledger status: heights, view, checkpoint, peers, drops",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(selectors.node_status())


urlpatterns = [
    path("ledger/transactions/", TransactionsView.as_view(), name="ledger-transactions"),
    path("ledger/transactions/<str:tx_id>/", TransactionDetailView.as_view(), name="ledger-transaction"),
    path("ledger/blocks/", BlocksView.as_view(), name="ledger-blocks"),
    path("ledger/blocks/<int:height>/", BlockDetailView.as_view(), name="ledger-block"),
    path("ledger/status/", StatusView.as_view(), name="ledger-status"),
]
