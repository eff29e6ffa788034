"""Subsidy API: policies and claims (read); claiming and deciding (write). Writes answer 202 with the
transaction to follow (ledger.api.accepted); the services' refusals come out in the API's one error
body (core.api.errors), like every other write of the API."""

from urllib.parse import urlencode

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import PAGE_PARAMETERS, PageInfoSerializer, Pages, lines_page, page_info, paginated
from core.api.schema import accepted_responses, errors
from ledger.api_auth import AuthChallengeMixin
from ledger.api import accepted
from subsidy import selectors, services
from subsidy.models import Claim, ClaimLine, ClaimStep, Policy


class PolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = Policy
        fields = ["version", "valid_from", "per_kwh_cny", "construction_per_kw_cny", "min_availability",
                  "availability_formula", "cap_per_pile_year_cny", "cap_per_operator_year_cny", "note", "published_by", "height", "tx_id"]


class ClaimLineSerializer(serializers.ModelSerializer):
    pile = serializers.SlugRelatedField(slug_field="code", read_only=True)
    exclusions = serializers.SerializerMethodField()

    class Meta:
        model = ClaimLine
        fields = ["pile", "sessions", "energy_wh", "excluded_wh", "availability", "operating_cny", "construction_cny",
                  "amount_cny", "note", "status", "reason", "exclusions"]

    def get_exclusions(self, line) -> list:
        return [{"session": e.session, "reason": e.reason, "energy_wh": e.energy_wh} for e in line.exclusions.all()]


class ClaimStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClaimStep
        fields = ["action", "institution", "piles", "reason", "amount_cny", "height", "tx_id"]


class ClaimSerializer(serializers.ModelSerializer):
    operator = serializers.SlugRelatedField(slug_field="code", read_only=True)
    policy = serializers.SlugRelatedField(slug_field="version", read_only=True)

    class Meta:
        model = Claim
        fields = ["uid", "operator", "period", "policy", "status", "eligible_cny", "approved_cny", "payment_due_on",
                  "submitted_height", "height"]


class ClaimCreateSerializer(serializers.Serializer):
    period = serializers.RegexField(r"^\d{4}-\d{2}$")
    piles = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=20000)


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    piles = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    payment_due_on = serializers.DateField(required=False, allow_null=True, default=None)


class PolicyListView(AuthChallengeMixin, APIView):
    @extend_schema(responses=PolicySerializer(many=True))
    def get(self, request):
        return Response(PolicySerializer(selectors.policies_for(request.user), many=True).data)


class ClaimListView(AuthChallengeMixin, APIView):
    pagination_class = Pages

    @extend_schema(parameters=[OpenApiParameter("period", str, description="YYYY-MM")],
                   responses=ClaimSerializer(many=True))
    def get(self, request):
        qs = selectors.claims_for(request.user)
        if request.query_params.get("period"):
            qs = qs.filter(period=request.query_params["period"])
        return paginated(self, qs, ClaimSerializer)

    @extend_schema(summary="Claim for a period, for every (or the named) piles of the caller's operator",
                   request=ClaimCreateSerializer, responses=accepted_responses(400, 401, 403))
    def post(self, request):
        data = ClaimCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = data.validated_data["period"]
        submission = services.claim_submit(request.user, period=period, piles=data.validated_data.get("piles"))
        # The claim's id derives from the transaction: it will be in the period's list once committed.
        return accepted(submission, object_url=f"{reverse('subsidy-claim-list')}?{urlencode({'period': period})}")


class ClaimDetailSerializer(ClaimSerializer):
    """For the schema: the claim with a page of its lines (core.api.pagination)."""

    lines = ClaimLineSerializer(many=True)
    lines_page = PageInfoSerializer()
    trail = ClaimStepSerializer(many=True)

    class Meta(ClaimSerializer.Meta):
        fields = [*ClaimSerializer.Meta.fields, "lines", "lines_page", "trail"]


class ClaimDetailView(AuthChallengeMixin, APIView):
    @extend_schema(parameters=[*PAGE_PARAMETERS,
                               OpenApiParameter("held", bool, description="only the lines with energy held")],
                   responses={200: ClaimDetailSerializer, **errors(401, 404)})
    def get(self, request, uid):
        held = request.query_params.get("held", "false")
        if held not in ("true", "false"):
            raise ValidationError({"held": ["true or false"]})
        claim = selectors.claims_for(request.user).filter(uid=uid).first()
        if claim is None:
            raise Http404
        # A line per pile: thousands for a large operator, so a page of them at a time.
        page = lines_page(request, selectors.claim_lines(claim, held_only=held == "true"),
                          default_size=selectors.LINES_PER_PAGE)
        return Response({**ClaimSerializer(claim).data,
                         "lines": ClaimLineSerializer(page.object_list, many=True).data,
                         "lines_page": page_info(request, page),
                         "trail": ClaimStepSerializer(claim.steps.all(), many=True).data})


class ClaimDecisionView(AuthChallengeMixin, APIView):
    @extend_schema(summary="Approve or reject a claim's pending lines (the regulator's managers)",
                   request=DecisionSerializer, responses=accepted_responses(400, 401, 403, 404))
    def post(self, request, uid):
        if not selectors.claims_for(request.user).filter(uid=uid).exists():
            raise Http404
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        submission = services.claim_decide(request.user, claim=str(uid), **data.validated_data)
        return accepted(submission, object_url=reverse("subsidy-claim-detail", kwargs={"uid": uid}))
