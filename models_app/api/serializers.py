"""Serializers of the registry, and the batch envelopes (for validation of the envelope
and for the OpenAPI schema; the records themselves are validated in bulk by
`models_app.validation`)."""

from django.conf import settings
from django.db import transaction
from rest_framework import serializers

from models_app.models import FeatureType, Model, ModelVersion, Stage


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["version", "created_at", "notes"]
        read_only_fields = ["created_at"]
        # measured as sent (the schema's maxLength): trimmed first, a 101-character version
        # with a leading space was accepted; surrounding whitespace is refused instead
        extra_kwargs = {"version": {"trim_whitespace": False}}

    def validate_version(self, value: str) -> str:
        if value != value.strip():
            raise serializers.ValidationError("Must not start or end with whitespace.")
        model = self.context.get("model")
        if model and ModelVersion.objects.filter(model=model, version=value).exists():
            raise serializers.ValidationError(f'Version "{value}" already exists.')
        return value


class FeatureListSerializer(serializers.ListSerializer):
    """The declared features: at most MODELWATCH_MAX_FEATURES, counted before any of them
    is validated (each costs a serializer pass here and a spec at every ingestion)."""

    def to_internal_value(self, data):
        most = settings.MODELWATCH_MAX_FEATURES
        if isinstance(data, list) and len(data) > most:
            raise serializers.ValidationError(
                f"Too many features: {len(data)}; at most {most} per model."
            )
        return super().to_internal_value(data)


class FeatureSerializer(serializers.Serializer):
    """One declared input feature; range and categories feed the data-quality checks."""

    class Meta:
        list_serializer_class = FeatureListSerializer

    name = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=FeatureType.choices)
    min = serializers.FloatField(required=False, allow_null=True)
    max = serializers.FloatField(required=False, allow_null=True)
    categories = serializers.ListField(
        child=serializers.JSONField(), required=False, allow_null=True, max_length=10000
    )

    def to_representation(self, instance: dict) -> dict:
        return {k: v for k, v in super().to_representation(instance).items() if v is not None}

    def validate(self, attrs: dict) -> dict:
        low, high = attrs.get("min"), attrs.get("max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"min": ["Must not be greater than max."]})
        return attrs


class ModelSerializer(serializers.ModelSerializer):
    version = serializers.CharField(
        max_length=100,
        write_only=True,
        required=False,
        help_text='Initial version to create (default "1").',
    )
    versions = ModelVersionSerializer(many=True, read_only=True)
    features = FeatureSerializer(many=True, required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100
    )
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Model
        fields = [
            "name",
            "task",
            "framework",
            "description",
            "tags",
            "features",
            "owner",
            "version",
            "versions",
            "created_at",
            "updated_at",
            "last_seen_at",
        ]
        read_only_fields = ["created_at", "updated_at", "last_seen_at"]

    def validate_features(self, features: list[dict]) -> list[dict]:
        names = [f["name"] for f in features]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise serializers.ValidationError(f"Duplicate feature names: {duplicates}.")
        return [{k: v for k, v in f.items() if v is not None} for f in features]

    def validate_name(self, value: str) -> str:
        if self.instance is not None and value != self.instance.name:
            raise serializers.ValidationError("A model cannot be renamed.")
        return value

    @transaction.atomic
    def create(self, validated_data: dict) -> Model:
        version = validated_data.pop("version", "1")
        model = Model.objects.create(**validated_data)
        ModelVersion.objects.create(model=model, version=version)
        return model

    def update(self, instance: Model, validated_data: dict) -> Model:
        validated_data.pop("version", None)
        return super().update(instance, validated_data)


def max_batch() -> int:
    return settings.MODELWATCH_MAX_BATCH


class BatchSerializer(serializers.Serializer):
    """The envelope of every telemetry batch: an optional version and the records."""

    version = serializers.CharField(max_length=100, required=False, allow_null=True)
    records = serializers.ListField(child=serializers.JSONField(), allow_empty=False)

    def validate_records(self, records: list) -> list:
        limit = max_batch()
        if len(records) > limit:
            raise serializers.ValidationError(
                f"Ensure this field has no more than {limit} elements."
            )
        return records


class MetricRecordSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    value = serializers.FloatField()
    timestamp = serializers.DateTimeField(required=False)
    step = serializers.IntegerField(required=False, allow_null=True)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)


class MetricBatchSerializer(BatchSerializer):
    records = MetricRecordSerializer(many=True)


class AcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()


class SeriesQuerySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    version = serializers.CharField(max_length=100, required=False)
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    max_points = serializers.IntegerField(min_value=1, max_value=10000, default=1000)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("start") and attrs.get("end") and attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"start": ["Must be before end."]})
        return attrs


class SeriesPointSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    value = serializers.FloatField()
    min = serializers.FloatField()
    max = serializers.FloatField()
    count = serializers.IntegerField()


class SeriesSerializer(serializers.Serializer):
    name = serializers.CharField()
    stage = serializers.CharField()
    points = SeriesPointSerializer(many=True)


class PredictionRecordSerializer(serializers.Serializer):
    """One served prediction (schema only: records are validated in bulk)."""

    id = serializers.CharField(
        max_length=200, required=False, help_text="Client id, unique per model; labels join on it."
    )
    timestamp = serializers.DateTimeField(required=False)
    features = serializers.DictField(
        help_text="Feature values. Nulls, wrong types, out-of-range values and unseen "
        "categories are stored and counted, never rejected."
    )
    prediction = serializers.JSONField(help_text="Required unless `error` is set.")
    scores = serializers.DictField(
        child=serializers.FloatField(), required=False, help_text="Class -> probability."
    )
    label = serializers.JSONField(required=False)
    latency_ms = serializers.FloatField(required=False, min_value=0)
    error = serializers.CharField(required=False, allow_blank=True)


class PredictionBatchSerializer(BatchSerializer):
    records = PredictionRecordSerializer(many=True)


class ProfileRecordSerializer(serializers.Serializer):
    """One version's hour bucket, profiled by the client (format 1, docs/telemetry.md)."""

    format = serializers.IntegerField(help_text="1: the only profile format so far.")
    bucket = serializers.DateTimeField(help_text="The start of a UTC hour.")
    rows = serializers.IntegerField(min_value=1, help_text="Predictions in the bucket.")
    features = serializers.DictField(help_text="Feature name -> profile.")
    outputs = serializers.DictField(
        help_text="`prediction` (required), `error`, `latency_ms`, `score`, `label` -> profile."
    )


class ProfileBatchSerializer(BatchSerializer):
    records = ProfileRecordSerializer(many=True)


class ProfileSpecsSerializer(serializers.Serializer):
    """How the server profiles each feature and output of a version (what clients mirror)."""

    format = serializers.IntegerField()
    version = serializers.CharField()
    task = serializers.CharField()
    reference = serializers.IntegerField(allow_null=True)
    sample_size = serializers.IntegerField()
    features = serializers.DictField(
        help_text='name -> {"kind", "edges", "categories", "min", "max"}'
    )
    outputs = serializers.DictField()
    skipped = serializers.ListField(child=serializers.CharField())


class LabelRecordSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200)
    label = serializers.JSONField()


class LabelBatchSerializer(serializers.Serializer):
    records = LabelRecordSerializer(many=True)


class LabelAnswerSerializer(serializers.Serializer):
    matched = serializers.IntegerField()
    unmatched = serializers.ListField(
        child=serializers.CharField(), help_text="Ids kept until their prediction arrives."
    )


class ParameterRecordSerializer(serializers.Serializer):
    tensor = serializers.CharField(max_length=300)
    step = serializers.IntegerField(required=False, allow_null=True)
    timestamp = serializers.DateTimeField(required=False)
    mean = serializers.FloatField()
    std = serializers.FloatField()
    min = serializers.FloatField()
    max = serializers.FloatField()
    l2_norm = serializers.FloatField()
    zero_fraction = serializers.FloatField(required=False, min_value=0, max_value=1)
    nan_count = serializers.IntegerField(required=False, min_value=0)
    inf_count = serializers.IntegerField(required=False, min_value=0)
    grad_norm = serializers.FloatField(required=False, min_value=0)
    update_ratio = serializers.FloatField(
        required=False, min_value=0, help_text="‖update‖ / ‖weights‖ of the step."
    )
    histogram = serializers.DictField(
        required=False, help_text='{"edges": [n+1 numbers], "counts": [n]}'
    )


class ParameterBatchSerializer(BatchSerializer):
    records = ParameterRecordSerializer(many=True)


class WindowSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(required=False, help_text="Default: now.")


class ReferenceRequestSerializer(serializers.Serializer):
    """JSON records (flat: features, `prediction`?, `label`?, `score`?/`scores`?), a
    `window` of the version's own predictions, or the stored `profiles` of a window; or
    multipart with a `file` (CSV, gzip-compressed CSV or Parquet). The file may also be
    the whole body: `Content-Type: text/csv` (with `Content-Encoding: gzip` if
    compressed) or `application/vnd.apache.parquet`, the version in `?version=`."""

    version = serializers.CharField(max_length=100, required=False)
    records = serializers.ListField(child=serializers.DictField(), required=False)
    window = WindowSerializer(required=False)
    profiles = WindowSerializer(
        required=False, help_text="Build the reference from the profiles of this window."
    )
    file = serializers.FileField(
        required=False, help_text="CSV with a header row (.csv or .csv.gz), or Parquet."
    )


class ReferenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.CharField()
    created_at = serializers.DateTimeField()
    source = serializers.CharField()
    n_rows = serializers.IntegerField()
    summary = serializers.DictField(help_text="Per feature statistics (samples left out).")
