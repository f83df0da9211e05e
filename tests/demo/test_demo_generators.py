"""The demo's pure generators: reproducible hours and the changes each story promises."""

from datetime import UTC, datetime, timedelta

import numpy as np

from demo import camera, credit, training
from demo.timeline import CHANGE_DAY, Hour

START = datetime(2024, 1, 1, tzinfo=UTC)


def hour(day: int, index_in_day: int = 0) -> Hour:
    index = day * 24 + index_in_day
    return Hour(index, START + timedelta(hours=index))


def test_an_hour_is_generated_identically_every_time():
    assert credit.hour_records(hour(3)) == credit.hour_records(hour(3))
    assert camera.hour_records(hour(3)) == camera.hour_records(hour(3))
    assert credit.hour_records(hour(3)) != credit.hour_records(hour(4))


def test_hours_lie_inside_their_hour_with_stable_ids():
    records, labels = credit.hour_records(hour(2, 5))
    stamps = [datetime.fromisoformat(r["timestamp"]) for r in records]
    assert all(START.replace(day=3, hour=5) <= t < START.replace(day=3, hour=6) for t in stamps)
    assert records[0]["id"] == f"cr-{2 * 24 + 5}-0" and set(labels) <= {r["id"] for r in records}


def test_credit_inputs_are_squeezed_after_the_change_day():
    def spread(day: int) -> float:
        rows = [
            r["features"]["mean_radius"]
            for d in range(day, day + 2)
            for h in range(24)
            for r in credit.hour_records(hour(d, h))[0]
        ]
        return float(np.std(rows))

    assert spread(CHANGE_DAY + 1) < 0.6 * spread(CHANGE_DAY - 3)


def test_camera_frames_get_darker_and_blurrier_after_the_change():
    def mean_feature(day: int, name: str) -> float:
        values = [
            r["features"][name]
            for h in range(24)
            for r in camera.hour_records(hour(day, h))
            if r["features"][name] is not None
        ]
        return float(np.mean(values))

    before, after = CHANGE_DAY - 1, CHANGE_DAY + 1
    assert mean_feature(after, "brightness") < 0.6 * mean_feature(before, "brightness")
    assert mean_feature(after, "blur") < 0.2 * mean_feature(before, "blur")


def test_the_training_run_overfits_at_epoch_12_while_fc2_gradients_explode():
    curves = training.curve_records(START)
    validation = [r["value"] for r in curves if r["name"] == "loss" and r["stage"] == "validation"]
    train = [r["value"] for r in curves if r["name"] == "loss" and r["stage"] == "train"]
    assert int(np.argmin(validation)) in (11, 12, 13) and train[-1] < train[12]
    grads = {(r["tensor"], r["step"]): r["grad_norm"] for r in training.parameter_records(START)}
    assert grads[("fc2.weight", 29)] > 1000 > grads[("fc2.weight", 11)]
    assert grads[("fc1.weight", 29)] < 1
