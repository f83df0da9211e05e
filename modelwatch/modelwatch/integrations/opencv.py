"""OpenCV image features, so a vision model's inputs are monitored like tabular features.

    from modelwatch.integrations.opencv import log_images
    log_images(mw.model("camera"), frames, predictions=labels)

Each image becomes `width`, `height`, `aspect_ratio` (width / height), `brightness`
(mean grey level, 0–255), `contrast` (standard deviation of the grey levels),
`saturation` (mean HSV saturation, 0–255; 0 for greyscale), `blur` (variance of the
Laplacian of the grey image: low means blurry), `overexposed` / `underexposed` (share of
grey pixels ≥ 250 / ≤ 5) and `undecodable` (True when the bytes are not an image; the
other features are then null, which the data-quality checks count as missing).

Without OpenCV installed, image arrays still work: `grey_level`, `hsv_saturation` and
`laplacian` are exact numpy ports of the OpenCV operations used (checked against cv2 by
the tests); only decoding bytes or files needs OpenCV.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

try:
    import cv2
except ImportError:  # arrays still work through the numpy ports below
    cv2 = None

from modelwatch.client import ModelHandle

NUMERIC_FEATURES = (
    "width",
    "height",
    "aspect_ratio",
    "brightness",
    "contrast",
    "saturation",
    "blur",
    "overexposed",
    "underexposed",
)
OVEREXPOSED_LEVEL = 250
UNDEREXPOSED_LEVEL = 5


def feature_schema() -> list[dict]:
    """The declared features, with their ranges, for `Client.register_model(features=...)`."""
    levels = {"brightness": 255, "contrast": 128, "saturation": 255}
    fractions = {"overexposed": 1, "underexposed": 1}
    schema = []
    for name in NUMERIC_FEATURES:
        feature = {"name": name, "type": "numeric", "min": 0}
        if name in levels or name in fractions:
            feature["max"] = levels.get(name, fractions.get(name))
        schema.append(feature)
    return schema + [{"name": "undecodable", "type": "boolean"}]


def decode(image: Any) -> np.ndarray | None:
    """An image array from an array, encoded bytes or a file path; None if undecodable."""
    if isinstance(image, (str, os.PathLike)):
        try:
            with open(image, "rb") as handle:
                image = handle.read()
        except OSError:
            return None
    if isinstance(image, (bytes, bytearray, memoryview)):
        if cv2 is None:
            raise ImportError(
                "Decoding image bytes needs OpenCV: pip install opencv-python-headless"
            )
        buffer = np.frombuffer(bytes(image), dtype=np.uint8)
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED) if buffer.size else None
    if image is None:
        return None
    array = np.asarray(image)
    return array if array.ndim in (2, 3) and array.size else None


def to_uint8(image: np.ndarray) -> np.ndarray:
    """8-bit levels: floats in [0, 1] are scaled by 255, 16-bit divided by 257."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image / 257).round().astype(np.uint8)
    values = image.astype(np.float64)
    if image.dtype == bool or (values.size and np.nanmax(values) <= 1.0):
        values = values * 255
    return np.clip(np.nan_to_num(values), 0, 255).round().astype(np.uint8)


def grey_level(bgr: np.ndarray) -> np.ndarray:
    """cv2.cvtColor(bgr, COLOR_BGR2GRAY) for uint8: OpenCV 5's 15-bit fixed-point weights."""
    if cv2 is not None:
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    b, g, r = (bgr[:, :, i].astype(np.int64) for i in range(3))
    return ((b * 3735 + g * 19235 + r * 9798 + (1 << 14)) >> 15).astype(np.uint8)


def hsv_saturation(bgr: np.ndarray) -> np.ndarray:
    """The S channel of cv2.cvtColor(bgr, COLOR_BGR2HSV) for uint8 (0-255)."""
    if cv2 is not None:
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)[:, :, 1]
    high = bgr.max(axis=2).astype(np.int64)
    low = bgr.min(axis=2).astype(np.int64)
    table = np.zeros(256, dtype=np.int64)
    table[1:] = np.round((255 << 12) / np.arange(1, 256))
    return ((high - low) * table[high] + (1 << 11)) >> 12


def laplacian(grey: np.ndarray) -> np.ndarray:
    """cv2.Laplacian(grey, CV_64F): the 3x3 kernel of ksize=1, borders reflected (101)."""
    if cv2 is not None:
        return cv2.Laplacian(grey, cv2.CV_64F)
    padded = np.pad(grey.astype(np.float64), 1, mode="reflect")
    return (
        padded[:-2, 1:-1]
        + padded[2:, 1:-1]
        + padded[1:-1, :-2]
        + padded[1:-1, 2:]
        - 4 * padded[1:-1, 1:-1]
    )


def grey_and_colour(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The grey image and the BGR colour image (None for greyscale input)."""
    if image.ndim == 2 or image.shape[2] == 1:
        return image.reshape(image.shape[:2]), None
    colour = np.ascontiguousarray(image[:, :, :3])
    return grey_level(colour), colour


def undecodable_features() -> dict[str, Any]:
    """The features of an input that is not an image: null measures, `undecodable` True."""
    return dict.fromkeys(NUMERIC_FEATURES) | {"undecodable": True}


def image_features(image: Any) -> dict[str, Any]:
    """The features of one image (BGR or greyscale array, encoded bytes or a path)."""
    decoded = decode(image)
    if decoded is None:
        return undecodable_features()
    grey, colour = grey_and_colour(to_uint8(decoded))
    height, width = grey.shape
    saturation = float(hsv_saturation(colour).mean()) if colour is not None else 0.0
    return {
        "width": int(width),
        "height": int(height),
        "aspect_ratio": width / height,
        "brightness": float(grey.mean()),
        "contrast": float(grey.std()),
        "saturation": saturation,
        "blur": float(laplacian(grey).var()),
        "overexposed": float(np.mean(grey >= OVEREXPOSED_LEVEL)),
        "underexposed": float(np.mean(grey <= UNDEREXPOSED_LEVEL)),
        "undecodable": False,
    }


def as_image_list(images: Any) -> list:
    """A list of images from a list, or from an (N, H, W) / (N, H, W, C) array."""
    if isinstance(images, np.ndarray):
        batch = images.ndim == 4 or (images.ndim == 3 and images.shape[-1] not in (3, 4))
        return list(images) if batch else [images]
    return list(images)


def image_reference(images: Iterable[Any], labels: Sequence[Any] | None = None) -> list[dict]:
    """Reference rows (features, and `label` when given) for `ModelHandle.set_reference`."""
    rows = [image_features(image) for image in as_image_list(images)]
    if labels is not None:
        rows = [row | {"label": label} for row, label in zip(rows, labels, strict=True)]
    return rows


def log_images(
    handle: ModelHandle,
    images: Any,
    predictions: Sequence[Any] | None = None,
    *,
    ids: Sequence[Any] | None = None,
    scores: Sequence[dict] | None = None,
    labels: Sequence[Any] | None = None,
    latency_ms: Sequence[float] | None = None,
    timestamps: Sequence[Any] | None = None,
    extra_features: Sequence[dict] | None = None,
) -> int:
    """Log one prediction per image with its image features (plus `extra_features`).

    Every optional sequence, when given, has one entry per image.
    """
    items = as_image_list(images)
    columns = {
        "prediction": predictions,
        "id": ids,
        "scores": scores,
        "label": labels,
        "latency_ms": latency_ms,
        "timestamp": timestamps,
    }
    for key, values in columns.items():
        if values is not None and len(values) != len(items):
            raise ValueError(f"{len(items)} images but {len(values)} entries in {key!r}.")
    records = []
    for index, image in enumerate(items):
        features = image_features(image) | (extra_features[index] if extra_features else {})
        record = {"features": features}
        record |= {key: values[index] for key, values in columns.items() if values is not None}
        records.append(record)
    return handle.log_predictions(records)
