"""Settlement writes over the API: publishing (tariffs, service fees, sealed terms, area meters),
closing a period, and confirming, disputing and correcting statements.

Each validates its body, calls the service in settlement.services.billing (which checks who may do it and
runs the contract as a dry run) and answers 202 with the transaction to follow, exactly like the
registry's writes (ledger.api.accepted). A statement the caller may not see is a 404 before anything
else is looked at.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from core.api.pagination import Pages, paginated
from core.api.schema import accepted_responses
from ledger.api_auth import AuthChallengeMixin
from ledger.api import accepted
from settlement.services import billing
from settlement.api import inputs
from settlement.api.billing import TariffSerializer
from settlement.models import Statement
from settlement.selectors.billing import statements_for, tariffs_for


def visible_statement(user, uid) -> Statement:
    statement = statements_for(user).filter(uid=uid).first()
    if statement is None:
        raise Http404
    return statement


def statement_url(uid) -> str:
    return reverse("settlement-statement-detail", kwargs={"uid": uid})


def statements_url(**query) -> str:
    """The statement list filtered to where a write's statements will be once it commits (their ids
    derive from the transaction's hash, which the contract combines with the parties)."""
    return f"{reverse('settlement-statement-list')}?{urlencode(query)}"


# POST: `input_class` validates the body, `write` calls the service, 202 with the transaction.
# (Comments, not docstrings, on these bases: a view's docstring becomes its description in the schema.)
class WriteView(AuthChallengeMixin, APIView):
    input_class = None

    def input_context(self) -> dict:
        return {}

    def write(self, user, data: dict):
        raise NotImplementedError

    def object_url(self, data: dict) -> str | None:
        return None

    def post(self, request, **kwargs):
        body = self.input_class(data=request.data, context=self.input_context())
        body.is_valid(raise_exception=True)
        submission = self.write(request.user, body.validated_data)
        return accepted(submission, object_url=self.object_url(body.validated_data))


# --- publishing --------------------------------------------------------------------------------


class TariffsView(WriteView):
    input_class = inputs.TariffInput
    pagination_class = Pages

    @extend_schema(parameters=[OpenApiParameter("area", str, description="grid area code")],
                   responses=TariffSerializer(many=True))
    def get(self, request):
        qs = tariffs_for(request.user)
        if request.query_params.get("area"):
            qs = qs.filter(area__code__iexact=request.query_params["area"])
        return paginated(self, qs.order_by("area__code", "-valid_from", "uid"), TariffSerializer)

    @extend_schema(summary="Publish a time-of-use tariff for an area (its grid company's managers)",
                   request=inputs.TariffInput, responses=accepted_responses(400, 401, 403))
    def post(self, request):
        return super().post(request)

    def write(self, user, data):
        return billing.tariff_publish(user, area=data["area"], valid_from=data["valid_from"],
                                      windows=data["windows"], prices=data["prices"])

    def object_url(self, data):
        return f"{reverse('settlement-tariff-list')}?{urlencode({'area': data['area'].upper()})}"


class ServiceFeeView(WriteView):
    input_class = inputs.ServiceFeeInput

    @extend_schema(summary="Publish the operator's service fee per kWh from a date (operators' managers)",
                   request=inputs.ServiceFeeInput, responses=accepted_responses(400, 401, 403))
    def post(self, request):
        return super().post(request)

    def write(self, user, data):
        return billing.service_fee_publish(user, valid_from=data["valid_from"], per_kwh=data["per_kwh"])


class TermsView(WriteView):
    input_class = inputs.TermsInput

    @extend_schema(summary="Seal confidential terms for an area and operator on this node (either party's managers)",
                   request=inputs.TermsInput, responses=accepted_responses(400, 401, 403))
    def post(self, request):
        return super().post(request)

    def write(self, user, data):
        return billing.terms_publish(user, area=data["area"], operator=data["operator"],
                                     valid_from=data["valid_from"], terms=data["terms"])


class AreaMeterView(WriteView):
    input_class = inputs.AreaMeterInput

    @extend_schema(summary="Report the grid company's area meter for a period (its managers)",
                   request=inputs.AreaMeterInput, responses=accepted_responses(400, 401, 403))
    def post(self, request):
        return super().post(request)

    def write(self, user, data):
        return billing.area_meter_report(user, area=data["area"], period=data["period"], energy_wh=data["energy_wh"])

    def object_url(self, data):
        return statements_url(area=data["area"].upper(), period=data["period"])


# --- closing -------------------------------------------------------------------------------------


class ClosingView(WriteView):
    input_class = inputs.CloseInput

    @extend_schema(summary="Close a period for an area: one statement per operator (the area's grid company, "
                           "or an operator for its own piles there)",
                   request=inputs.CloseInput, responses=accepted_responses(400, 401, 403))
    def post(self, request):
        return super().post(request)

    def write(self, user, data):
        return billing.period_close(user, area=data["area"], period=data["period"])

    def object_url(self, data):
        return statements_url(area=data["area"].upper(), period=data["period"])


# --- a statement's parties -----------------------------------------------------------------------


# Writes on one statement: looked up among those the caller may see (404 otherwise).
class StatementActionView(WriteView):
    statement: Statement

    def post(self, request, uid):
        self.statement = visible_statement(request.user, uid)
        return super().post(request)

    def input_context(self):
        return {"statement": self.statement}

    def object_url(self, data):
        return statement_url(self.statement.uid)


class ConfirmView(StatementActionView):
    input_class = inputs.ConfirmInput

    @extend_schema(summary="Confirm a statement: this node computes the statement hash and signs it for "
                           "the caller's institution (a party's managers)",
                   request=None, responses=accepted_responses(400, 401, 403, 404))
    def post(self, request, uid):
        return super().post(request, uid)

    def write(self, user, data):
        return billing.statement_confirm(user, statement=self.statement)


class DisputeView(StatementActionView):
    input_class = inputs.DisputeInput

    @extend_schema(summary="Dispute items of a statement, each with a reason (a party's managers)",
                   request=inputs.DisputeInput, responses=accepted_responses(400, 401, 403, 404))
    def post(self, request, uid):
        return super().post(request, uid)

    def write(self, user, data):
        return billing.statement_dispute(user, statement=self.statement, items=data["items"])


class CorrectView(StatementActionView):
    input_class = inputs.CorrectInput

    @extend_schema(summary="Correct a statement: a new statement from the current totals replaces it "
                           "(a party's managers)",
                   request=inputs.CorrectInput, responses=accepted_responses(400, 401, 403, 404))
    def post(self, request, uid):
        return super().post(request, uid)

    def write(self, user, data):
        return billing.statement_correct(user, statement=self.statement, reason=data["reason"])

    def object_url(self, data):
        return statements_url(corrects=self.statement.uid)
