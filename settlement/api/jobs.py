"""Long settlement work over the API: exports of a statement (PDF, CSV) and closing every area the
caller may close, as Celery jobs (settlement.tasks) with a progress row that only their user sees."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import errors
from ledger.api_auth import AuthChallengeMixin
from settlement import tasks
from settlement.api import inputs
from settlement.api.billing import FileView
from settlement.api.writes import visible_statement
from settlement.models import JobProgress
from settlement.selectors.billing import closable_areas, jobs_for

CONTENT_TYPES = {"pdf": "application/pdf", "csv": "text/csv"}


class JobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    download = serializers.SerializerMethodField(help_text="the file's address once the job is done, else null")

    class Meta:
        model = JobProgress
        fields = ["uid", "kind", "state", "done", "total", "percent", "detail", "download", "url"]

    def get_url(self, job) -> str:
        return reverse("settlement-job-detail", kwargs={"uid": job.uid})

    def get_download(self, job) -> str | None:
        if job.state != "done" or not job.result_name:
            return None
        return reverse("settlement-job-download", kwargs={"uid": job.uid})


def started(job: JobProgress) -> Response:
    """202: the job is queued; poll its address (also the Location header)."""
    body = JobSerializer(job).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class ExportStartView(AuthChallengeMixin, APIView):
    @extend_schema(summary="Export a statement as a job (PDF or CSV); the file is the job's download",
                   request=inputs.ExportInput, responses={202: JobSerializer, **errors(400, 401, 404)})
    def post(self, request, uid):
        statement = visible_statement(request.user, uid)
        body = inputs.ExportInput(data=request.data)
        body.is_valid(raise_exception=True)
        return started(tasks.export_start(user=request.user, statement_uid=str(statement.uid),
                                         fmt=body.validated_data["format"]))


class CloseAreasStartView(AuthChallengeMixin, APIView):
    @extend_schema(summary="Close a period for every area the caller may close, as a job (a grid company's "
                           "managers: its areas; an operator's: the areas with its piles)",
                   request=inputs.CloseAreasInput, responses={202: JobSerializer, **errors(400, 401, 403)})
    def post(self, request):
        areas = closable_areas(request.user)
        if not areas:
            raise PermissionDenied(_("Only managers of a grid company, or of an operator with piles in an area, "
                                     "close periods."))
        body = inputs.CloseAreasInput(data=request.data)
        body.is_valid(raise_exception=True)
        return started(tasks.close_areas_start(user=request.user, period=body.validated_data["period"], areas=areas))


def _job(request, uid) -> JobProgress:
    job = jobs_for(request.user).filter(uid=uid).first()
    if job is None:
        raise Http404
    return job


class JobDetailView(AuthChallengeMixin, APIView):
    @extend_schema(summary="A job's progress (only for the user who started it)",
                   responses={200: JobSerializer, **errors(401, 404)})
    def get(self, request, uid):
        return Response(JobSerializer(_job(request, uid)).data)


class JobDownloadView(FileView):
    @extend_schema(summary="The file a finished export job made",
                   responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
                              (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY), **errors(401, 404)})
    def get(self, request, uid):
        job = _job(request, uid)
        if job.state != "done" or not job.result_name:
            raise NotFound(_("The job has no file (yet): see its state."))
        kind = CONTENT_TYPES.get(job.result_name.rsplit(".", 1)[-1], "application/octet-stream")
        response = HttpResponse(bytes(job.result), content_type=kind)
        response["Content-Disposition"] = f'attachment; filename="{job.result_name}"'
        return response
