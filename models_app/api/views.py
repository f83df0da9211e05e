"""The registry and telemetry endpoints (README "The API by example", docs/telemetry.md)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from models_app import ingest, series, validation
from models_app.api import telemetry
from models_app.api.batch import ingest_batch, resolve_version
from models_app.api.filtersets import ModelFilterSet
from models_app.api.parsers import OrjsonParser, ParquetFileParser, ReferenceFileParser
from models_app.api.serializers import (
    AcceptedSerializer,
    LabelAnswerSerializer,
    LabelBatchSerializer,
    MetricBatchSerializer,
    ModelSerializer,
    ModelVersionSerializer,
    ParameterBatchSerializer,
    PredictionBatchSerializer,
    ProfileBatchSerializer,
    ProfileSpecsSerializer,
    ReferenceRequestSerializer,
    ReferenceSerializer,
    SeriesQuerySerializer,
    SeriesSerializer,
)
from models_app.models import MetricPoint, Model


class ModelViewSet(viewsets.ModelViewSet):
    """Register, list, read, update and delete models; add versions; send and read metrics."""

    queryset = Model.objects.prefetch_related("versions").select_related("owner")
    serializer_class = ModelSerializer
    lookup_field = "name"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    filterset_class = ModelFilterSet

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)

    @extend_schema(
        methods=["POST"], request=ModelVersionSerializer, responses={201: ModelVersionSerializer}
    )
    @extend_schema(methods=["GET"], responses={200: ModelVersionSerializer(many=True)})
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=ModelVersionSerializer,
        filterset_class=None,
    )
    def versions(self, request, name=None):
        model = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(model.versions.order_by("-created_at", "-id"))
            return self.get_paginated_response(ModelVersionSerializer(page, many=True).data)
        serializer = ModelVersionSerializer(data=request.data, context={"model": model})
        serializer.is_valid(raise_exception=True)
        serializer.save(model=model)
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["POST"],
        request=MetricBatchSerializer,
        responses={201: AcceptedSerializer, 400: OpenApiResponse(description="Bad records")},
    )
    @extend_schema(methods=["GET"], parameters=[SeriesQuerySerializer], responses=SeriesSerializer)
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=MetricBatchSerializer,
        filterset_class=None,
        pagination_class=None,
    )
    def metrics(self, request, name=None):
        model = get_object_or_404(Model, name=name)
        if request.method == "POST":
            return ingest_batch(
                request, model, "metrics", validation.metric_record, ingest.record_metrics
            )
        return Response(metric_series(model, request.query_params))

    @extend_schema(
        request=PredictionBatchSerializer,
        responses={201: AcceptedSerializer, 400: OpenApiResponse(description="Bad records")},
    )
    @action(
        detail=True,
        methods=["post"],
        serializer_class=PredictionBatchSerializer,
        filterset_class=None,
        pagination_class=None,
    )
    def predictions(self, request, name=None):
        """Served predictions with their inputs; features problems are counted, not refused."""
        return telemetry.post_predictions(request, get_object_or_404(Model, name=name))

    @extend_schema(
        request=LabelBatchSerializer,
        responses={200: LabelAnswerSerializer, 400: OpenApiResponse(description="Bad records")},
    )
    @action(
        detail=True,
        methods=["post"],
        serializer_class=LabelBatchSerializer,
        filterset_class=None,
        pagination_class=None,
    )
    def labels(self, request, name=None):
        """Late ground truth joined to predictions by their `id`."""
        return telemetry.post_labels(request, get_object_or_404(Model, name=name))

    @extend_schema(
        methods=["POST"],
        request={
            "application/json": ReferenceRequestSerializer,
            "multipart/form-data": ReferenceRequestSerializer,
            "text/csv": OpenApiTypes.BINARY,
            "application/vnd.apache.parquet": OpenApiTypes.BINARY,
        },
        responses={201: ReferenceSerializer, 400: OpenApiResponse(description="Bad upload")},
    )
    @extend_schema(methods=["GET"], responses={200: ReferenceSerializer})
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=ReferenceRequestSerializer,
        filterset_class=None,
        pagination_class=None,
        parser_classes=[
            OrjsonParser,
            FormParser,
            MultiPartParser,
            ReferenceFileParser,
            ParquetFileParser,
        ],
    )
    def reference(self, request, name=None):
        """The baseline of the drift checks: from a CSV (plain or gzip) or Parquet file,
        JSON records, a window of predictions or the profiles of a window."""
        model = get_object_or_404(Model, name=name)
        if request.method == "GET":
            return telemetry.get_reference(request, model)
        return telemetry.post_reference(request, model)

    @extend_schema(
        methods=["POST"],
        request=ProfileBatchSerializer,
        responses={201: AcceptedSerializer, 400: OpenApiResponse(description="Bad profiles")},
    )
    @extend_schema(methods=["GET"], responses={200: ProfileSpecsSerializer})
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=ProfileBatchSerializer,
        filterset_class=None,
        pagination_class=None,
    )
    def profiles(self, request, name=None):
        """Profiles computed by the client (format 1), or (GET) how to compute them."""
        model = get_object_or_404(Model, name=name)
        if request.method == "GET":
            return telemetry.get_profile_specs(request, model)
        return telemetry.post_profiles(request, model)

    @extend_schema(
        request=ParameterBatchSerializer,
        responses={201: AcceptedSerializer, 400: OpenApiResponse(description="Bad records")},
    )
    @action(
        detail=True,
        methods=["post"],
        serializer_class=ParameterBatchSerializer,
        filterset_class=None,
        pagination_class=None,
    )
    def parameters(self, request, name=None):
        """Weight statistics per tensor and step."""
        return telemetry.post_parameters(request, get_object_or_404(Model, name=name))


def metric_series(model: Model, params) -> dict:
    """One metric of one stage, downsampled to at most `max_points` buckets."""
    query = SeriesQuerySerializer(data=params)
    query.is_valid(raise_exception=True)
    q = query.validated_data
    points = MetricPoint.objects.filter(model=model, name=q["name"])
    if "version" in q:
        points = points.filter(version=resolve_version(model, q["version"]))
    stage = q.get("stage") or single_stage(points)
    points = points.filter(stage=stage)
    bounds = series.time_bounds(points)
    if bounds is None:
        return {"name": q["name"], "stage": stage, "points": []}
    start, end = q.get("start") or bounds[0], q.get("end") or bounds[1]
    return {
        "name": q["name"],
        "stage": stage,
        "points": series.downsample(points, start, end, q["max_points"]),
    }


def single_stage(points) -> str:
    """The stage a metric is logged under, when the caller did not say; 400 if several."""
    stages = sorted(points.values_list("stage", flat=True).distinct())
    if len(stages) > 1:
        raise ValidationError({"stage": [f"This metric has several stages {stages}: choose one."]})
    return stages[0] if stages else "production"
