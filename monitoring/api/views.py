"""Monitoring REST API: plain views over selectors (reads) and services (writes)."""

from __future__ import annotations

import csv
import json
import datetime as dt
import uuid
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from core import localtime
from ledger.selectors import tx_receipt
from core.api.pagination import paginated
from ledger.api_auth import AuthChallengeMixin
from monitoring.api import serializers as s
from monitoring.live import status as live_status
from monitoring.models import Webhook
from monitoring.selectors import anchoring, availability, intervals, telemetry, workorders
from monitoring.services import batches, grid, load, webhooks
from monitoring.services import workorders as workorder_services
from registry import access
from registry.models import GridArea

MAX_PAGE = 5000


class CSVRenderer(BaseRenderer):
    """Lets ?format=csv through content negotiation; the views stream the CSV themselves, so only
    errors (JSON bodies) are ever rendered here."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data, default=str).encode()


class MonitoringView(AuthChallengeMixin, APIView):
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]


def _time(request, name: str, default=None) -> dt.datetime:
    text = request.query_params.get(name)
    if not text:
        if default is not None:
            return default
        raise exceptions.ValidationError({name: ["required (ISO 8601 with a time zone)"]})
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise exceptions.ValidationError({name: ["not an ISO 8601 time"]}) from None
    if value.tzinfo is None:
        raise exceptions.ValidationError({name: ["needs a time zone"]})
    return value


def _int(request, name: str, default: int | None, *, low: int, high: int) -> int | None:
    text = request.query_params.get(name)
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise exceptions.ValidationError({name: ["an integer"]}) from None
    if not low <= value <= high:
        raise exceptions.ValidationError({name: [f"between {low} and {high}"]})
    return value


def _series_query(request) -> telemetry.SeriesQuery:
    pile, measurand = request.query_params.get("pile"), request.query_params.get("measurand")
    if not pile or not measurand:
        raise exceptions.ValidationError({"pile": ["pile and measurand are required"]})
    return telemetry.SeriesQuery(
        pile=pile, measurand=measurand, start=_time(request, "from"), end=_time(request, "to"),
        connector_id=_int(request, "connector", None, low=0, high=32767), phase=request.query_params.get("phase", ""),
    )


def _wants_csv(request) -> bool:
    return request.query_params.get("format") == "csv" or "text/csv" in request.headers.get("Accept", "")


class _Echo:
    def write(self, value):
        return value


def _csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _dec(value) -> str | None:
    if value is None:
        return None
    return format(Decimal(value).quantize(Decimal("0.000001")).normalize(), "f")


class LatestStateView(MonitoringView):
    """Latest state of every visible pile's connectors (?pile= narrows)."""

    @extend_schema(summary="Latest state of each visible pile's connectors", parameters=[OpenApiParameter("pile", str)], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        states = list(telemetry.latest_states(user=request.user, pile=request.query_params.get("pile")))
        piles = telemetry.pile_states(user=request.user, piles={st.pile_id for st in states})
        data = s.ConnectorStateSerializer(states, many=True).data
        for row, st in zip(data, states):
            pile = piles.get(st.pile_id)
            row["pile_last_seen_at"] = pile.last_seen_at if pile else None
            row["pile_online"] = pile.online if pile else None
            row["pile_online_at"] = pile.online_at if pile else None
        return Response({"results": data})


class LiveStatusView(MonitoringView):
    """How far the live path has come at this node: per member it sends to and per source it
    receives from, the last event applied, the source's head, how many behind, and the lag."""

    @extend_schema(summary="The live path's position with each member", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        if access.member_institution(request.user) is None and not access.is_platform_admin(request.user):
            raise exceptions.PermissionDenied()
        return Response(live_status.links())


class ReadingListView(MonitoringView):
    """Raw readings of one pile and measurand in [from, to), keyset-paginated (?cursor=, ?limit=);
    ?format=csv streams the whole range."""

    @extend_schema(summary="Raw readings, keyset-paginated, or CSV", parameters=[OpenApiParameter("pile", str), OpenApiParameter("measurand", str), OpenApiParameter("from", OpenApiTypes.DATETIME), OpenApiParameter("to", OpenApiTypes.DATETIME), OpenApiParameter("connector", int), OpenApiParameter("phase", str), OpenApiParameter("format", str), OpenApiParameter("cursor", str), OpenApiParameter("limit", int)], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _series_query(request)
        try:
            if _wants_csv(request):
                rows = telemetry.iter_readings(user=request.user, query=query)
                # Validate before streaming starts (a bad pile must be a 400, not a broken download).
                first = next(rows, None)
                def all_rows():
                    if first is not None:
                        yield first
                    yield from rows
                return _csv_response(
                    f"{query.pile}-{query.measurand}.csv",
                    ["id", "pile", "connector_id", "measurand", "phase", "context", "ts", "value", "unit"],
                    ([r.id, r.pile.code, r.connector_id, r.measurand, r.phase, r.context, r.ts.isoformat(),
                      _dec(r.value), r.unit] for r in all_rows()),
                )
            rows, cursor = telemetry.readings_page(
                user=request.user, query=query, cursor=request.query_params.get("cursor"),
                limit=_int(request, "limit", 500, low=1, high=MAX_PAGE),
            )
        except telemetry.QueryError as exc:
            raise exceptions.ValidationError({"query": [str(exc)]}) from None
        return Response({"results": s.ReadingSerializer(rows, many=True).data, "next_cursor": cursor})


class AggregateView(MonitoringView):
    """Per-interval count, avg, min, max and sum (?interval=1m|5m|15m|1h|1d); ?format=csv."""

    @extend_schema(summary="Readings aggregated per interval", parameters=[OpenApiParameter("pile", str), OpenApiParameter("measurand", str), OpenApiParameter("from", OpenApiTypes.DATETIME), OpenApiParameter("to", OpenApiTypes.DATETIME), OpenApiParameter("connector", int), OpenApiParameter("phase", str), OpenApiParameter("format", str), OpenApiParameter("interval", str)], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _series_query(request)
        try:
            buckets = telemetry.aggregate(user=request.user, query=query, interval=request.query_params.get("interval", "1h"))
        except telemetry.QueryError as exc:
            raise exceptions.ValidationError({"query": [str(exc)]}) from None
        rows = [{"start": b["start"].isoformat(), "count": b["count"], "avg": _dec(b["avg"]), "min": _dec(b["min"]),
                 "max": _dec(b["max"]), "sum": _dec(b["sum"])} for b in buckets]
        if _wants_csv(request):
            return _csv_response(f"{query.pile}-{query.measurand}-agg.csv", ["start", "count", "avg", "min", "max", "sum"],
                                 ([r[k] for k in ("start", "count", "avg", "min", "max", "sum")] for r in rows))
        return Response({"pile": query.pile, "measurand": query.measurand, "results": rows})


class ReadingProofView(MonitoringView):
    """The Merkle proof tying a reading to the anchor transaction of a committed block."""

    @extend_schema(summary="A reading's Merkle proof and anchor receipt", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, reading_id: int):
        reading = anchoring.visible_reading(user=request.user, reading_id=reading_id)
        if reading is None:
            raise exceptions.NotFound()
        return Response(anchoring.reading_proof(reading=reading))


class IngestThrottle(AnonRateThrottle):
    rate = "600/minute"


class IngestView(MonitoringView):
    """Device-signed telemetry batches (see monitoring.services.batches for the format)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [IngestThrottle]

    @extend_schema(summary="Device-signed telemetry batch", request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        try:
            result = batches.ingest_signed_batch(data=request.data)
        except batches.BatchRefused as exc:
            codes = {"bad_signature": status.HTTP_403_FORBIDDEN, "unknown_device": status.HTTP_403_FORBIDDEN,
                     "replay": status.HTTP_409_CONFLICT}
            code = codes.get(exc.code, status.HTTP_400_BAD_REQUEST)
            return Response({"error": {"status": code, "code": exc.code, "detail": str(exc), "fields": {}}}, status=code)
        return Response(result, status=status.HTTP_201_CREATED)


class FaultListView(MonitoringView):
    @extend_schema(summary="Faults of the visible piles", parameters=[OpenApiParameter("pile", str)], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        faults = workorders.fault_list(user=request.user)
        if request.query_params.get("pile"):
            faults = faults.filter(pile__code__iexact=request.query_params["pile"])
        return paginated(self, faults, s.FaultSerializer)


def _submission_response(submission, http_status=status.HTTP_202_ACCEPTED):
    return Response({"tx_id": submission.tx_id, "status": submission.status, "receipt": tx_receipt(submission.tx_id)},
                    status=http_status)


class WorkOrderListView(MonitoringView):
    @extend_schema(summary="Work orders", operation_id="monitoring_work_orders_list", parameters=[OpenApiParameter("state", str), OpenApiParameter("pile", str), OpenApiParameter("severity", str), OpenApiParameter("assignee", str), OpenApiParameter("overdue", bool), OpenApiParameter("open", bool)], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        p = request.query_params
        orders = workorders.workorder_list(
            user=request.user, state=p.get("state", ""), pile=p.get("pile", ""), severity=p.get("severity", ""),
            assignee=p.get("assignee", ""), overdue=p.get("overdue") in ("1", "true"), open_only=p.get("open") in ("1", "true"),
        )
        return paginated(self, orders, s.WorkOrderSerializer, context={"now": timezone.now()})


class WorkOrderDetailView(MonitoringView):
    def _order(self, request, uid):
        order = workorders.workorder_detail(user=request.user, uid=uid)
        if order is None:
            raise exceptions.NotFound()
        return order

    @extend_schema(summary="A work order with its trail", operation_id="monitoring_work_order_retrieve", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, uid: uuid.UUID):
        order = self._order(request, uid)
        data = s.WorkOrderSerializer(order, context={"now": timezone.now()}).data
        data["trail"] = s.StepSerializer(workorders.workorder_trail(order), many=True).data
        data["allowed_steps"] = workorder_services.allowed_steps(actor=request.user, work_order=order)
        return Response(data)

    @extend_schema(summary="Move a work order to its next state", request=OpenApiTypes.OBJECT, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, uid: uuid.UUID):
        """Move the work order: {"to": "assigned", "assignee": "...", "note": "..."}."""
        order = self._order(request, uid)
        body = s.StepInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        submission = workorder_services.workorder_step(actor=request.user, work_order=order, **body.validated_data)
        return _submission_response(submission)


class AvailabilityView(MonitoringView):
    @extend_schema(summary="Availability per connector and period (telemetry), and per pile as reported on the ledger day by day", parameters=[OpenApiParameter("from", OpenApiTypes.DATETIME), OpenApiParameter("to", OpenApiTypes.DATETIME), OpenApiParameter("pile", str)], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        end = _time(request, "to", timezone.now())
        start = _time(request, "from", end - dt.timedelta(days=30))
        pile = request.query_params.get("pile", "")
        try:
            rows = availability.availability(user=request.user, start=start, end=end, pile=pile)
            first_day, last_day = availability.period_days(start, end)
            reported = availability.reported(user=request.user, start_day=first_day, end_day=last_day, pile=pile,
                                             with_days=bool(pile))
        except availability.PeriodError as exc:
            raise exceptions.ValidationError({"period": [str(exc)]}) from None
        for entry in reported:
            entry["ratio"] = None if entry["ratio"] is None else str(entry["ratio"])
            for day in entry.get("reports", []):
                day["ratio"] = None if day["ratio"] is None else str(day["ratio"])
        return Response({"from": start, "to": end, "results": rows,
                         "reported": {"first_day": first_day, "last_day": last_day, "piles": reported}})


def _day(request, name: str, default: dt.date) -> dt.date:
    text = request.query_params.get(name)
    if not text:
        return default
    day = localtime.parse_day(text)
    if day is None:
        raise exceptions.ValidationError({name: ["a date written YYYY-MM-DD"]})
    return day


def _visible_area(request, code: str) -> GridArea:
    area = GridArea.objects.restrict(request.user, "view").filter(code=code).first()
    if area is None:
        raise exceptions.NotFound("no such grid area")
    return area


def uptime_dict(figures) -> dict:
    return {"seconds": figures.seconds, "reported": figures.reported, "up": figures.up, "outage": figures.outage,
            "unreported": figures.unreported, "excluded": figures.excluded, "counted_outage": figures.counted_outage,
            "ratio": None if figures.ratio is None else str(figures.ratio)}


class UptimeView(MonitoringView):
    @extend_schema(
        summary="Uptime from the agreed intervals, per connector, pile, station, area or operator (docs/intervals.md)",
        parameters=[OpenApiParameter("by", str, enum=list(intervals.GROUPS)), OpenApiParameter("from", OpenApiTypes.DATE),
                    OpenApiParameter("to", OpenApiTypes.DATE), OpenApiParameter("pile", str),
                    OpenApiParameter("until", OpenApiTypes.DATETIME, description="end the period here (not after now)")],
        responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        now = min(_time(request, "until", timezone.now()), timezone.now())
        today = localtime.local_day(now)
        end_day = _day(request, "to", today)
        start_day = _day(request, "from", end_day - dt.timedelta(days=29))
        by = request.query_params.get("by", "pile")
        try:
            rows = intervals.uptime(user=request.user, by=by, start_day=start_day, end_day=end_day, until=now,
                                    pile=request.query_params.get("pile", ""))
        except intervals.PeriodError as exc:
            raise exceptions.ValidationError({"period": [str(exc)]}) from None
        for row in rows:
            row["uptime"] = uptime_dict(row["uptime"])
        return Response({"by": by, "from": start_day, "to": end_day, "until": now, "results": rows})


class AreaLoadCurveView(MonitoringView):
    @extend_schema(summary="A grid area's agreed load, interval by interval, against its capacity",
                   parameters=[OpenApiParameter("from", OpenApiTypes.DATETIME), OpenApiParameter("to", OpenApiTypes.DATETIME)],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, code: str):
        area = _visible_area(request, code)
        end = _time(request, "to", timezone.now())
        start = _time(request, "from", end - dt.timedelta(days=1))
        curve = intervals.area_load_curve(user=request.user, area=area, start=start, end=end)
        return Response({"area": area.code, "capacity_kw": str(area.capacity_kw), "from": start, "to": end, "results": [
            {"start": row.start, "seconds": row.seconds, "energy_wh": row.energy_wh, "average_w": row.average_w,
             "peak_w": row.peak_w, "connectors": row.connectors, "height": row.height} for row in curve]})


class AreaCurtailmentView(MonitoringView):
    @extend_schema(summary="A grid area's curtailments and whether each held, interval by interval",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, code: str):
        area = _visible_area(request, code)
        return Response({"area": area.code, "results": intervals.curtailment_outcomes(user=request.user, area=area)})

    @extend_schema(summary="Curtail a grid area (its grid company's managers)", request=OpenApiTypes.OBJECT,
                   responses={202: OpenApiTypes.OBJECT})
    def post(self, request, code: str):
        body = s.CurtailmentInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _submission_response(grid.curtailment_request(actor=request.user, area=code, **body.validated_data))


class AreaLoadView(MonitoringView):
    @extend_schema(summary="Load per grid area", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        rows = load.area_loads(areas=GridArea.objects.restrict(request.user, "view"), user=request.user)
        for row in rows:
            for key in ("power_kw", "capacity_kw", "percent", "threshold_percent"):
                row[key] = None if row[key] is None else str(row[key])
        return Response({"results": rows})


class AreaThresholdView(MonitoringView):
    @extend_schema(summary="Set a grid area's load alert threshold", request=OpenApiTypes.OBJECT, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, code: str):
        body = s.ThresholdInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _submission_response(grid.load_threshold_set(actor=request.user, area=code, **body.validated_data))


class AreaOutageView(MonitoringView):
    @extend_schema(summary="Flag a grid outage", request=OpenApiTypes.OBJECT, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, code: str):
        body = s.OutageInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _submission_response(grid.grid_outage_flag(actor=request.user, area=code, **body.validated_data))


class WebhookListView(MonitoringView):
    @extend_schema(summary="The institution's webhooks", operation_id="monitoring_webhooks_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        hooks = Webhook.objects.restrict(request.user)
        return Response({"results": s.WebhookSerializer(hooks, many=True).data})

    @extend_schema(summary="Register a webhook (the secret is shown once)", request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        body = s.WebhookInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        hook, secret = webhooks.webhook_create(actor=request.user, **body.validated_data)
        data = s.WebhookSerializer(hook).data
        data["secret"] = secret  # shown once
        return Response(data, status=status.HTTP_201_CREATED)


class WebhookDetailView(MonitoringView):
    @extend_schema(summary="Remove a webhook", responses={204: None})
    def delete(self, request, pk: int):
        hook = Webhook.objects.restrict(request.user).filter(pk=pk).first()
        if hook is None:
            raise exceptions.NotFound()
        try:
            webhooks.webhook_delete(actor=request.user, webhook=hook)
        except PermissionDenied:
            raise exceptions.NotFound() from None
        return Response(status=status.HTTP_204_NO_CONTENT)
