"""Profiles: mergeable statistics of every feature and output, per version and hour.

The one public surface; the modules inside are named by what they do:
- `sketch`: the pure FeatureProfile maths (profile, merge, conform, sketch quantiles) and
  the bins every side shares (`decile_edges`, `bin_counts`, `proportions`);
- `specs`: the output names, the current reference and how each feature is profiled;
- `write`: partial rows, one per (hour bucket, feature present, or output), at ingestion;
- `store`: the rows (partial, rolled-up hourly, daily), their encoding and tiers;
- `rollup`: partial rows -> rolled-up hourly and daily rows;
- `window`: a window's {feature: FeatureProfile}, each row counted once;
- `serving`: prediction, error, label counts and latency percentiles per window or bucket;
- `posted`: profiles computed by clients (format 1): checked, stored as partial rows;
- `segments`: profiles per value of the features rules segment by (`segment_by`).

Callers outside this package import from `models_app.profiles` only.
"""

from models_app.profiles.posted import (
    FORMAT,
    duplicate_buckets,
    profile_record,
    profile_row_count,
    profile_specs,
    record_posted,
)
from models_app.profiles.rollup import rollup_pending, rollup_profiles
from models_app.profiles.segments import (
    MAX_TRACKED,
    Segment,
    record_segment_profiles,
    rollup_segment_profiles,
    segment_key,
    segment_windows,
)
from models_app.profiles.serving import (
    DAILY_MIN_SPAN,
    serving_buckets,
    serving_by_version,
    window_serving,
)
from models_app.profiles.sketch import (
    CATEGORICAL,
    NUMERIC,
    OTHER,
    SAMPLE_SIZE,
    SKETCH_ALPHA,
    FeatureProfile,
    FeatureSpec,
    bin_counts,
    category_key,
    conform,
    decile_edges,
    merge_all,
    profile_values,
    proportions,
    sketch_quantile,
)
from models_app.profiles.specs import (
    ERROR,
    LABEL,
    LATENCY,
    OUTPUTS,
    PREDICTION,
    SCORE,
    compact_specs,
    current_reference,
    current_summary,
    feature_spec,
    output_kind,
    reference_feature,
)
from models_app.profiles.store import day_of, hour_of
from models_app.profiles.window import hourly_profiles, window_feature, window_profiles
from models_app.profiles.write import (
    BatchSize,
    batch_size,
    positive_score,
    record_label_profiles,
    record_profiles,
    write_partials,
)

__all__ = [
    "CATEGORICAL",
    "DAILY_MIN_SPAN",
    "ERROR",
    "FORMAT",
    "LABEL",
    "LATENCY",
    "MAX_TRACKED",
    "NUMERIC",
    "OTHER",
    "OUTPUTS",
    "PREDICTION",
    "SAMPLE_SIZE",
    "SCORE",
    "SKETCH_ALPHA",
    "Segment",
    "BatchSize",
    "FeatureProfile",
    "FeatureSpec",
    "batch_size",
    "bin_counts",
    "category_key",
    "compact_specs",
    "conform",
    "current_reference",
    "current_summary",
    "day_of",
    "decile_edges",
    "duplicate_buckets",
    "feature_spec",
    "hour_of",
    "merge_all",
    "output_kind",
    "positive_score",
    "profile_record",
    "profile_row_count",
    "profile_specs",
    "profile_values",
    "proportions",
    "record_label_profiles",
    "record_posted",
    "record_profiles",
    "record_segment_profiles",
    "reference_feature",
    "rollup_pending",
    "rollup_profiles",
    "rollup_segment_profiles",
    "segment_key",
    "segment_windows",
    "serving_buckets",
    "serving_by_version",
    "sketch_quantile",
    "window_feature",
    "window_profiles",
    "hourly_profiles",
    "window_serving",
    "write_partials",
]
