"""OpenCV: profile a vision model's images (brightness, contrast, blur, ...) for drift.

    MODELWATCH_URL=... MODELWATCH_TOKEN=... python examples/opencv_images.py

scikit-learn's 8x8 digits, upscaled to 64x64 BGR images, are the reference; the
"live" images after a camera change are darker and blurrier, which the image features
show (and a data_drift rule on this model would flag).
"""

from __future__ import annotations

import uuid

import cv2
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from modelwatch import Client
from modelwatch.integrations.opencv import feature_schema, image_reference, log_images

NAME = "example-digits-camera"


def to_image(pixels: np.ndarray, darken: float = 1.0, blur: int = 0) -> np.ndarray:
    """One 8x8 digit (0-16) as a 64x64 BGR image, optionally darker and blurred."""
    grey = cv2.resize(
        (pixels.reshape(8, 8) * 15).astype(np.uint8), (64, 64), interpolation=cv2.INTER_NEAREST
    )
    grey = (grey * darken).astype(np.uint8)
    if blur:
        grey = cv2.GaussianBlur(grey, (0, 0), blur)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def main(client: Client, name: str = NAME, count: int = 200) -> int:
    digits = load_digits()
    classifier = LogisticRegression(max_iter=2000).fit(digits.data[:1000], digits.target[:1000])
    client.register_model(
        name,
        "multiclass_classification",
        framework="scikit-learn",
        features=feature_schema(),
        exist_ok=True,
    )
    model = client.model(name)
    model.set_reference(image_reference([to_image(p) for p in digits.data[:count]]))

    live = digits.data[1000 : 1000 + count]
    after_change = [to_image(p, darken=0.4, blur=2) for p in live]
    run = uuid.uuid4().hex[:8]
    return log_images(
        model,
        after_change,
        predictions=[str(d) for d in classifier.predict(live)],
        ids=[f"{run}-{i}" for i in range(count)],
    )


if __name__ == "__main__":
    with Client() as mw:
        print("images logged:", main(mw))
