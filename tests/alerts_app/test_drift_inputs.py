"""Drift inputs skip what cannot be compared instead of failing the whole rule."""

from alerts_app.checks.drift import dataset_drift
from alerts_app.loaders.profiles import drift_inputs
from models_app.profiles import FeatureProfile

NUMERIC_REF = {
    "type": "numeric",
    "count": 4,
    "sample": [1.0, 2.0, 3.0, 4.0],
    "std": 1.1,
    "bin_counts": [],
}


def window(name: str, sample: list[float]) -> FeatureProfile:
    return FeatureProfile(feature=name, count=len(sample), sample=sample)


def test_a_reference_without_values_is_skipped_and_the_rest_is_tested():
    empty_ref = {"type": "numeric", "count": 0, "sample": []}
    data = drift_inputs(
        {"score": empty_ref, "age": NUMERIC_REF},
        {"score": window("score", [0.2, 0.4]), "age": window("age", [5.0, 6.0])},
        n_reference=4,
    )
    assert data.skipped == {"score": "No values in the reference."}
    assert set(data.features) == {"age"}
    results = dataset_drift(data.features, "ks", correction="fdr")
    assert results["age"].p_value is not None


def test_a_numeric_feature_without_a_reference_sample_is_skipped():
    no_sample = NUMERIC_REF | {"sample": []}
    data = drift_inputs({"age": no_sample}, {"age": window("age", [5.0])}, n_reference=4)
    assert data.skipped == {"age": "No sample to compare in the reference or the window."}
    assert data.features == {}
