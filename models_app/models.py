"""The model registry and every piece of telemetry it receives.

Telemetry rows carry both `model` and `version`: the model id is denormalised so that
time-range reads across versions use one index and no join.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class Task(models.TextChoices):
    BINARY = "binary_classification"
    MULTICLASS = "multiclass_classification"
    REGRESSION = "regression"
    OTHER = "other"


class FeatureType(models.TextChoices):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    TEXT = "text"
    IMAGE = "image"


class Stage(models.TextChoices):
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"
    PRODUCTION = "production"


class Model(models.Model):
    """A monitored model, addressed by its slug `name` in URLs."""

    name = models.SlugField(max_length=100, unique=True)
    task = models.CharField(max_length=32, choices=Task.choices)
    framework = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    features = models.JSONField(default=list, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def latest_version(self) -> "ModelVersion | None":
        return self.versions.order_by("-created_at", "-id").first()

    def feature_schema(self) -> dict[str, dict]:
        """Declared features by name: {"age": {"name": "age", "type": "numeric", ...}}."""
        return {f["name"]: f for f in self.features or []}


class ModelVersion(models.Model):
    model = models.ForeignKey(Model, related_name="versions", on_delete=models.CASCADE)
    version = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["model", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="uniq_model_version")
        ]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.version}"


class MetricPoint(models.Model):
    """One value of a named metric (loss, accuracy, ...) at a time and optional step."""

    model = models.ForeignKey(Model, on_delete=models.CASCADE)
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    value = models.FloatField()
    timestamp = models.DateTimeField()
    step = models.BigIntegerField(null=True, blank=True)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.PRODUCTION)

    class Meta:
        indexes = [
            models.Index(fields=["model", "name", "stage", "timestamp"], name="metric_series"),
            models.Index(fields=["version", "name", "step"], name="metric_steps"),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value} @ {self.timestamp:%Y-%m-%d %H:%M}"


class Prediction(models.Model):
    """One served prediction with its inputs; `label` may arrive later by `client_id`."""

    model = models.ForeignKey(Model, on_delete=models.CASCADE)
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE)
    client_id = models.CharField(max_length=200, null=True, blank=True)
    timestamp = models.DateTimeField()
    features = models.JSONField(default=dict)
    prediction = models.JSONField(null=True)
    scores = models.JSONField(null=True, blank=True)
    label = models.JSONField(null=True, blank=True)
    labeled_at = models.DateTimeField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["model", "timestamp"], name="prediction_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="uniq_prediction_client_id",
            )
        ]

    def __str__(self) -> str:
        return f"prediction {self.client_id or self.pk} @ {self.timestamp:%Y-%m-%d %H:%M}"


NEVER_CHECKED = datetime(1970, 1, 1, tzinfo=UTC)


class PendingLabel(models.Model):
    """A label that arrived before its prediction; joined when the prediction comes."""

    model = models.ForeignKey(Model, on_delete=models.CASCADE)
    client_id = models.CharField(max_length=200)
    label = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    # When the sweep last looked for its prediction in vain (NEVER_CHECKED: not yet): the
    # sweep takes each model's labels by (checked_at, id), so never-checked ones first.
    # A sentinel, not NULL: SQLite cannot build the NULLS FIRST index that would need.
    checked_at = models.DateTimeField(default=NEVER_CHECKED)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "client_id"], name="uniq_pending_label")
        ]
        indexes = [
            models.Index(fields=["model", "checked_at", "id"], name="pending_label_sweep"),
        ]

    def __str__(self) -> str:
        return f"pending label {self.client_id}"


class ParameterStat(models.Model):
    """Statistics of one weight tensor at one training step."""

    model = models.ForeignKey(Model, on_delete=models.CASCADE)
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE)
    tensor = models.CharField(max_length=300)
    step = models.BigIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField()
    mean = models.FloatField()
    std = models.FloatField()
    min = models.FloatField()
    max = models.FloatField()
    l2_norm = models.FloatField()
    zero_fraction = models.FloatField(null=True, blank=True)
    nan_count = models.BigIntegerField(default=0)
    inf_count = models.BigIntegerField(default=0)
    grad_norm = models.FloatField(null=True, blank=True)
    update_ratio = models.FloatField(null=True, blank=True)
    histogram = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["version", "tensor", "step"], name="param_steps")]

    def __str__(self) -> str:
        return f"{self.tensor} step {self.step}"


class Reference(models.Model):
    """The baseline a version's drift checks compare against (newest one wins).

    `summary` holds, per feature: type, decile edges, bin counts, categories and
    frequencies, min/max, missing rate, mean/std and a bounded sample.
    """

    version = models.ForeignKey(ModelVersion, related_name="references", on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=16, default="upload")  # upload | window
    n_rows = models.BigIntegerField(default=0)
    summary = models.JSONField(default=dict)
    # What profiling needs, without the samples: per feature/output type, edges,
    # categories, min, max (same nesting as `summary`); read at every ingest.
    specs = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"reference {self.pk} of version {self.version_id}"


class ReferenceCalibration(models.Model):
    """A calibrated threshold's band, computed once per reference and kept with it.

    `"threshold": "auto"` (docs/checks.md, "Calibrated thresholds"): the statistic of
    `method` over chunks of `chunk_size` reference values of `feature`, as its `mean` and
    sample `std` over `chunks` chunks (`resampled`: drawn with replacement). The rule's
    `k` is applied when read (threshold = mean ± k·std), so it is not part of the key.
    Deleted with its reference.
    """

    reference = models.ForeignKey(Reference, related_name="calibrations", on_delete=models.CASCADE)
    feature = models.CharField(max_length=200)
    method = models.CharField(max_length=64)
    chunk_size = models.PositiveIntegerField()
    chunks = models.PositiveIntegerField()
    mean = models.FloatField()
    std = models.FloatField()
    resampled = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "feature", "method", "chunk_size"],
                name="one_calibration_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.feature} {self.method} x{self.chunk_size} of reference {self.reference_id}"


class ReferenceSample(models.Model):
    """Whole rows of a reference: one seeded sample of row indices, every feature's value
    on those rows (aligned by row), which multivariate drift compares with a window's rows.

    `types` = {feature: "numeric" | "categorical"} as the reference summary typed them;
    `columns` = {feature: [value per sampled row]}: a float or None (missing) for a numeric
    feature, the canonical category string or None for a categorical one. Kept apart from
    `Reference` so that reading a reference (at every ingest) never loads it. A reference
    built from profiles has none (docs/telemetry.md).
    """

    reference = models.OneToOneField(
        Reference, primary_key=True, related_name="joint_sample", on_delete=models.CASCADE
    )
    size = models.IntegerField(default=0)
    types = models.JSONField(default=dict)
    columns = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"joint sample of reference {self.reference_id} ({self.size} rows)"


class ProfileStats(models.Model):
    """The sufficient statistics one profile row holds (see `models_app.profiles.sketch`).

    `bin_counts` are counts in the bins of `edges` (the reference's deciles at write
    time, [] before any reference). Numeric samples are stored in binary, not JSON:
    `sample_values` float64 little-endian, `sample_keys` uint64 reservoir priorities
    (ascending in rolled-up rows); partial rows store `sample_seed` instead of keys.
    `sample` (JSON) is read only as a fallback for rows written by other code.
    """

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE)
    bucket_start = models.DateTimeField()
    feature = models.CharField(max_length=200)
    kind = models.CharField(max_length=16)  # numeric | categorical
    reference = models.ForeignKey(Reference, null=True, blank=True, on_delete=models.SET_NULL)
    count = models.BigIntegerField(default=0)
    missing = models.BigIntegerField(default=0)
    type_errors = models.BigIntegerField(default=0)
    out_of_range = models.BigIntegerField(default=0)
    unseen = models.BigIntegerField(default=0)
    min = models.FloatField(null=True, blank=True)
    max = models.FloatField(null=True, blank=True)
    sum = models.FloatField(default=0.0)
    sum_sq = models.FloatField(default=0.0)
    bin_counts = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=dict, blank=True)
    sample = models.JSONField(default=list, blank=True)
    edges = models.JSONField(default=list, blank=True)
    sample_values = models.BinaryField(null=True, blank=True)
    sample_keys = models.BinaryField(null=True, blank=True)
    sample_seed = models.BigIntegerField(null=True, blank=True)
    sketch = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class Profile(ProfileStats):
    """Sufficient statistics of one feature (or output) of one version in one hour bucket.

    Rows are appended as partial profiles at ingestion (`rolled_up=False`) and merged
    by the rollup task into one rolled-up row per (version, bucket, feature). Rows never
    overlap: summing every row of a window counts each prediction once.
    """

    rolled_up = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["version", "feature", "bucket_start"], name="profile_window"),
            models.Index(fields=["rolled_up", "bucket_start"], name="profile_rollup"),
            # Windows over every feature of a version (features=None).
            models.Index(fields=["version", "bucket_start"], name="profile_version_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "feature", "bucket_start"],
                condition=models.Q(rolled_up=True),
                name="uniq_rolled_up_profile",
            )
        ]

    def __str__(self) -> str:
        return f"{self.feature} @ {self.bucket_start:%Y-%m-%d %H:00}"


class DailyProfile(ProfileStats):
    """One UTC day of one feature: the merge of that day's rolled-up hourly profiles.

    A second tier kept beside `Profile` (never summed with it) so that a 30-day window
    reads ~30 rows per feature instead of ~720.
    """

    class Meta:
        indexes = [
            models.Index(
                fields=["version", "feature", "bucket_start"], name="daily_profile_window"
            ),
            models.Index(fields=["version", "bucket_start"], name="daily_profile_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "feature", "bucket_start"], name="uniq_daily_profile"
            )
        ]

    def __str__(self) -> str:
        return f"{self.feature} @ {self.bucket_start:%Y-%m-%d}"


class IdempotencyKey(models.Model):
    """A stored answer to a batch sent with an `Idempotency-Key` header.

    Inserted in the same transaction as the batch's rows, so a replay either finds
    the committed answer or waits on the row lock of the first attempt.
    """

    model = models.ForeignKey(Model, on_delete=models.CASCADE)
    endpoint = models.CharField(max_length=32)
    key = models.CharField(max_length=200)
    # sha256 of the request body in canonical form (models_app/idempotency.py); empty
    # on keys stored before it was kept, which replay whatever body comes.
    body_sha256 = models.CharField(max_length=64, blank=True, default="")
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "endpoint", "key"], name="uniq_idempotency")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"


class SegmentFeature(models.Model):
    """A categorical feature some enabled rule of `model` segments by (`segment_by`).

    Kept by the alerting side when rules are saved or deleted (alerts_app/segments.py);
    ingestion writes segment profiles for these features only, so the cost of segments
    is paid only for them (docs/storage.md, "Segment profiles").
    """

    model = models.ForeignKey(Model, related_name="segment_features", on_delete=models.CASCADE)
    feature = models.CharField(max_length=200)
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "feature"], name="uniq_segment_feature")
        ]

    def __str__(self) -> str:
        return f"{self.model_id}: {self.feature}"


class SegmentValue(models.Model):
    """A value of a segmented feature that has segment profiles of its own, for one version.

    At most `profiles.segments.MAX_TRACKED` per (version, feature), the first seen: any
    other value is profiled under `__other__`, so a high-cardinality feature cannot
    multiply the storage without bound.
    """

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE)
    feature = models.CharField(max_length=200)
    value = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "feature", "value"], name="uniq_segment_value"
            )
        ]

    def __str__(self) -> str:
        return f"{self.feature}={self.value}"


class SegmentProfile(models.Model):
    """One feature's (or output's) profile over the rows of one segment in one hour bucket:
    the rows of `version` whose `segment_feature` had `segment_value` (`__other__`: any
    value without profiles of its own, or none).

    The same mergeable statistics as `ProfileStats` (models_app/profiles/sketch.py), in
    columns of their own so that the two tables evolve apart. Partial rows are appended at
    ingestion and merged by `profiles.segments.rollup_segment_profiles` into one rolled-up
    row per key; a read merges whatever rows are there, so it is the same before and after.
    """

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE)
    bucket_start = models.DateTimeField()
    segment_feature = models.CharField(max_length=200)
    segment_value = models.CharField(max_length=200)
    feature = models.CharField(max_length=200)
    kind = models.CharField(max_length=16)  # numeric | categorical
    rolled_up = models.BooleanField(default=False)
    count = models.BigIntegerField(default=0)
    missing = models.BigIntegerField(default=0)
    type_errors = models.BigIntegerField(default=0)
    out_of_range = models.BigIntegerField(default=0)
    unseen = models.BigIntegerField(default=0)
    min = models.FloatField(null=True, blank=True)
    max = models.FloatField(null=True, blank=True)
    sum = models.FloatField(default=0.0)
    sum_sq = models.FloatField(default=0.0)
    edges = models.JSONField(default=list, blank=True)
    bin_counts = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=dict, blank=True)
    sketch = models.JSONField(default=dict, blank=True)
    sample_values = models.BinaryField(null=True, blank=True)
    sample_keys = models.BinaryField(null=True, blank=True)
    sample_seed = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["version", "segment_feature", "bucket_start"], name="segment_profile_window"
            ),
            models.Index(fields=["rolled_up", "bucket_start"], name="segment_profile_rollup"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.feature} | {self.segment_feature}={self.segment_value} "
            f"@ {self.bucket_start:%Y-%m-%d %H:00}"
        )
