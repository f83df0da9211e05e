"""OpenCV image features on generated images, checked against cv2 computed directly."""

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from modelwatch.integrations.opencv import (  # noqa: E402
    feature_schema,
    image_features,
    image_reference,
    log_images,
)


def checkerboard(size: int = 64, square: int = 8, low: int = 40, high: int = 200) -> np.ndarray:
    cells = (np.indices((size, size)) // square).sum(axis=0) % 2
    return np.where(cells, high, low).astype(np.uint8)


def colour(image: np.ndarray, tint=(1.0, 0.6, 0.3)) -> np.ndarray:
    return np.clip(np.stack([image * t for t in tint], axis=-1), 0, 255).astype(np.uint8)


def expected(image: np.ndarray) -> dict:
    """The features computed straight from cv2/numpy, for comparison."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    saturation = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)[:, :, 1].mean() if image.ndim == 3 else 0
    return {
        "width": image.shape[1],
        "height": image.shape[0],
        "aspect_ratio": image.shape[1] / image.shape[0],
        "brightness": grey.mean(),
        "contrast": grey.std(),
        "saturation": saturation,
        "blur": cv2.Laplacian(grey, cv2.CV_64F).var(),
        "overexposed": (grey >= 250).mean(),
        "underexposed": (grey <= 5).mean(),
        "undecodable": False,
    }


@pytest.mark.parametrize("name", ["sharp", "blurred", "dark", "bright", "colour", "wide"])
def test_features_equal_cv2_computed_directly(name):
    sharp = checkerboard()
    image = {
        "sharp": sharp,
        "blurred": cv2.GaussianBlur(sharp, (9, 9), 3),
        "dark": (sharp * 0.1).astype(np.uint8),
        "bright": np.full((48, 48), 252, np.uint8),
        "colour": colour(sharp),
        "wide": colour(checkerboard(64))[:32],
    }[name]
    assert image_features(image) == pytest.approx(expected(image), rel=1e-12)


def test_blur_darkness_and_exposure_tell_the_images_apart():
    sharp = image_features(checkerboard())
    blurred = image_features(cv2.GaussianBlur(checkerboard(), (9, 9), 3))
    dark = image_features(np.full((32, 32), 3, np.uint8))
    bright = image_features(np.full((32, 32), 255, np.uint8))
    assert blurred["blur"] < sharp["blur"] / 10
    assert dark["brightness"] < 5 and dark["underexposed"] == 1.0 and dark["overexposed"] == 0
    assert bright["overexposed"] == 1.0 and bright["contrast"] == 0.0
    assert image_features(colour(checkerboard()))["saturation"] > 100 > sharp["saturation"]


def test_encoded_bytes_and_files_decode_to_the_same_features(tmp_path):
    image = colour(checkerboard())
    ok, png = cv2.imencode(".png", image)
    path = tmp_path / "frame.png"
    path.write_bytes(png.tobytes())
    assert ok and image_features(png.tobytes()) == image_features(image)
    assert image_features(str(path)) == image_features(image) == image_features(path)


def test_undecodable_input_is_flagged_with_null_features(tmp_path):
    for bad in (b"not an image", b"", str(tmp_path / "missing.png"), np.zeros((0, 0))):
        features = image_features(bad)
        assert features["undecodable"] is True and features["brightness"] is None


def test_float_and_sixteen_bit_images_are_scaled_to_eight_bit_levels():
    grey = checkerboard()
    assert image_features(grey / 255.0) == pytest.approx(image_features(grey))
    assert image_features(grey.astype(np.uint16) * 257) == pytest.approx(image_features(grey))


def test_log_images_sends_one_prediction_per_image_with_its_features(captured):
    batch = np.stack([checkerboard(), np.full((64, 64), 10, np.uint8)])
    count = log_images(
        captured,
        batch,
        predictions=[1, 0],
        ids=["a", "b"],
        latency_ms=[3, 4],
        scores=[{"0": 0.2, "1": 0.8}, {"0": 0.9, "1": 0.1}],
    )
    records = captured.sent["predictions"]
    assert count == 2 and [r["id"] for r in records] == ["a", "b"]
    assert records[1]["features"]["brightness"] == 10.0 and records[1]["prediction"] == 0
    assert records[0]["scores"] == {"0": 0.2, "1": 0.8} and records[0]["latency_ms"] == 3
    with pytest.raises(ValueError, match="2 images but 1"):
        log_images(captured, batch, predictions=[1])


def test_reference_rows_and_schema_cover_every_feature():
    rows = image_reference([checkerboard(), colour(checkerboard())], labels=[0, 1])
    names = {f["name"] for f in feature_schema()}
    assert set(rows[0]) == names | {"label"} and rows[1]["label"] == 1


def test_the_numpy_ports_equal_opencv_exactly(monkeypatch):
    from modelwatch.integrations import opencv

    rng = np.random.default_rng(3)
    images = [
        rng.integers(0, 256, (37, 53, 3), dtype=np.uint8),
        colour(checkerboard()),
        cv2.GaussianBlur(colour(checkerboard()), (5, 5), 2),
    ]
    with_cv2 = [opencv.image_features(image) for image in images]
    parts = [(opencv.grey_level(i), opencv.hsv_saturation(i)) for i in images]
    monkeypatch.setattr(opencv, "cv2", None)
    assert [opencv.image_features(image) for image in images] == with_cv2
    for image, (grey, saturation) in zip(images, parts, strict=True):
        assert np.array_equal(opencv.grey_level(image), grey)
        assert np.array_equal(opencv.hsv_saturation(image), saturation)
        assert np.array_equal(opencv.laplacian(grey), cv2.Laplacian(grey, cv2.CV_64F))
    with pytest.raises(ImportError, match="needs OpenCV"):
        opencv.image_features(b"\x89PNG")
