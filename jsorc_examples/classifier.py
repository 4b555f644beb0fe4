"""A scikit-learn classifier of iris flowers, trained in `setup()` on the iris data set
that ships with scikit-learn (no download). Features are sepal length, sepal width,
petal length and petal width in cm.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jsorc import action

_model: dict[str, Any] = {}


def setup() -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    iris = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=0.25, random_state=7, stratify=iris.target
    )
    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    _model.update(
        model=model,
        classes=[str(name) for name in iris.target_names],
        accuracy=float(model.score(x_test, y_test)),
    )


@action
def predict(features: list[float]) -> dict[str, Any]:
    """The species of one flower and the model's probability for each species."""
    sample = np.asarray(features, dtype=float).reshape(1, -1)
    if sample.shape[1] != 4:
        raise ValueError("features must be 4 numbers: sepal length/width, petal length/width")
    probabilities = _model["model"].predict_proba(sample)[0]
    classes = _model["classes"]
    return {
        "species": classes[int(np.argmax(probabilities))],
        "probabilities": dict(zip(classes, probabilities.round(4).tolist(), strict=True)),
    }


@action
def info() -> dict[str, Any]:
    """What the model is and how it scored on held-out flowers."""
    return {
        "model": type(_model["model"]).__name__,
        "classes": _model["classes"],
        "holdout_accuracy": _model["accuracy"],
    }
