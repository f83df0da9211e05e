"""Plain Python: monitor a scikit-learn classifier (breast cancer data shipped with sklearn).

    MODELWATCH_URL=http://127.0.0.1:8000 MODELWATCH_TOKEN=... python examples/quickstart.py

Registers the model, uploads its training data as the drift reference, logs served
predictions with their features and scores, then the labels that arrive later.
"""

from __future__ import annotations

import uuid

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from modelwatch import Client

NAME = "example-cancer"


def main(client: Client, name: str = NAME) -> dict:
    data = load_breast_cancer(as_frame=True)
    frame = data.data.rename(columns=lambda c: c.replace(" ", "_"))
    x_train, x_live, y_train, y_live = train_test_split(
        frame, data.target, test_size=0.5, random_state=0
    )
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    classifier.fit(x_train, y_train)

    client.register_model(
        name,
        "binary_classification",
        framework="scikit-learn",
        features=[{"name": c, "type": "numeric"} for c in frame.columns],
        exist_ok=True,
    )
    model = client.model(name)
    model.set_reference(x_train.assign(prediction=classifier.predict(x_train), label=y_train))

    run = uuid.uuid4().hex[:8]  # prediction ids are unique per model: one prefix per run
    live = x_live.assign(
        id=[f"{run}-{i}" for i in x_live.index],
        prediction=classifier.predict(x_live),
        score_0=classifier.predict_proba(x_live)[:, 0],
        score_1=classifier.predict_proba(x_live)[:, 1],
    )
    model.log_predictions(live)
    labels = model.log_labels(dict(zip(live["id"], y_live, strict=True)))
    model.log_metric("accuracy", accuracy_score(y_live, live["prediction"]), stage="test")
    return {"predictions": len(live), **labels}


if __name__ == "__main__":
    with Client() as mw:
        print(main(mw))
