"""Camera story: a digit classifier reading 64x64 camera frames of scikit-learn's 8x8
digits, 8 frames an hour for 30 days, each profiled by its OpenCV image features.

On day 20 the camera is replaced: frames come out darker, blurrier and warmer, and a
few are corrupt (undecodable, answered with an error). Declared ranges (brightness
≥ 45, blur ≥ 400) make the dark and blurred frames count as out of range.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from demo.timeline import CHANGE_DAY, Hour
from modelwatch.integrations.opencv import feature_schema, image_features, undecodable_features

NAME = "digits-camera"
STORY = 202
PER_HOUR = 8
SCALE = 8  # 8x8 digits -> 64x64 frames
BACKGROUND, INK = 15.0, 230.0
DECLARED_RANGES = {"brightness": (45, 255), "blur": (400, None)}


@dataclass(frozen=True)
class Camera:
    darken: float = 1.0
    blur: float = 0.0
    tint: tuple[float, float, float] = (1.0, 0.97, 0.94)  # B, G, R gains
    corrupt_rate: float = 0.002


BEFORE = Camera()
AFTER = Camera(darken=0.45, blur=1.6, tint=(0.8, 0.95, 1.0), corrupt_rate=0.03)


@dataclass(frozen=True)
class CameraWorld:
    classifier: LogisticRegression
    pool_images: np.ndarray  # frames production (and the reference sample) are drawn from
    pool_labels: np.ndarray


@cache
def world() -> CameraWorld:
    digits = load_digits()
    classifier = LogisticRegression(max_iter=3000).fit(digits.data[:900] / 16, digits.target[:900])
    return CameraWorld(classifier, digits.images[900:], digits.target[900:])


def model_fields() -> dict:
    schema = []
    for feature in feature_schema():
        low, high = DECLARED_RANGES.get(feature["name"], (feature.get("min"), feature.get("max")))
        schema.append(
            {k: v for k, v in (feature | {"min": low, "max": high}).items() if v is not None}
        )
    return {
        "task": "multiclass_classification",
        "framework": "scikit-learn",
        "tags": ["demo", "vision"],
        "features": schema,
        "description": "Demo: digit classifier on camera frames (scikit-learn's digits, "
        "upscaled), profiled by OpenCV image features. New camera on day 20.",
    }


def render(digit: np.ndarray, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """One 8x8 digit (0-16) as a 64x64 BGR frame taken by `camera`."""
    grey = np.kron(BACKGROUND + INK * digit / 16, np.ones((SCALE, SCALE)))
    grey = grey * camera.darken * rng.uniform(0.92, 1.08)
    if camera.blur:
        grey = gaussian_filter(grey, camera.blur)
    grey = grey + rng.normal(0, 2.0, grey.shape)
    frame = np.stack([grey * gain for gain in camera.tint], axis=-1)
    return np.clip(frame, 0, 255).round().astype(np.uint8)


def read_digit(frame: np.ndarray) -> np.ndarray:
    """What the service feeds the classifier: the frame back at 8x8, calibrated for the
    old camera (which is why the new one fools it)."""
    grey = frame.mean(axis=2).reshape(8, SCALE, 8, SCALE).mean(axis=(1, 3))
    return np.clip((grey - BACKGROUND) / INK, 0, 1).reshape(1, -1)


def classify(frames: list[np.ndarray]) -> list[str]:
    """The classifier's digits for frames (its argmax, in plain numpy)."""
    if not frames:
        return []
    classifier = world().classifier
    logits = np.vstack([read_digit(f) for f in frames]) @ classifier.coef_.T
    return [str(classifier.classes_[i]) for i in (logits + classifier.intercept_).argmax(axis=1)]


def reference_records(count: int = 500) -> list[dict]:
    """A validation sample from the old camera: the same kind of frames production sees."""
    w, rng = world(), np.random.default_rng(STORY)
    picks = rng.integers(0, len(w.pool_images), count)
    frames = [render(w.pool_images[pick], BEFORE, rng) for pick in picks]
    return [
        image_features(frame) | {"prediction": prediction, "label": str(w.pool_labels[pick])}
        for frame, prediction, pick in zip(frames, classify(frames), picks, strict=True)
    ]


def camera_at(hour: Hour) -> Camera:
    return AFTER if hour.after(CHANGE_DAY) else BEFORE


def frame_record(
    ident: str,
    moment: datetime,
    frame: np.ndarray | None,
    prediction: str | None,
    label: int | None,
    latency: float,
) -> dict:
    """One served frame (None: corrupt, answered with an error); `label` if reviewed."""
    record = {"id": ident, "timestamp": moment.isoformat(), "latency_ms": round(latency, 2)}
    if frame is None:
        return record | {
            "features": undecodable_features(),
            "error": "ValueError: undecodable image",
        }
    record |= {"features": image_features(frame), "prediction": prediction}
    return record | ({"label": str(label)} if label is not None else {})


def hour_records(hour: Hour) -> list[dict]:
    """One hour of frames; half of them are reviewed by a person (labelled at once)."""
    w, rng, camera = world(), hour.rng(STORY), camera_at(hour)
    picks = rng.integers(0, len(w.pool_images), PER_HOUR)
    corrupt = rng.random(PER_HOUR) < camera.corrupt_rate
    reviewed = rng.random(PER_HOUR) < 0.5
    latency = rng.lognormal(np.log(60), 0.25, PER_HOUR)
    moments = hour.moments(rng, PER_HOUR)
    frames = [render(w.pool_images[pick], camera, rng) for pick in picks]
    predictions = classify(frames)
    records = []
    for i, moment in enumerate(moments):
        label = int(w.pool_labels[picks[i]]) if reviewed[i] else None
        frame = None if corrupt[i] else frames[i]
        records.append(
            frame_record(
                f"cam-{hour.index}-{i}", moment, frame, predictions[i], label, float(latency[i])
            )
        )
    return records
