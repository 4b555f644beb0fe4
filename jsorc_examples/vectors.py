"""numpy vector operations: similarity, normalisation, centroids and nearest neighbours."""

from __future__ import annotations

import numpy as np

from jsorc import action


def _array(values: list) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 0 or array.size == 0:
        raise ValueError("a vector needs at least one number")
    return array


@action
def cosine_similarity(a: list[float], b: list[float]) -> float:
    """Cosine of the angle between `a` and `b`."""
    va, vb = _array(a), _array(b)
    if va.shape != vb.shape:
        raise ValueError(f"vectors differ in length: {va.size} and {vb.size}")
    return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb)))


@action
def normalize(v: list[float]) -> list[float]:
    """`v` scaled to unit length."""
    array = _array(v)
    return (array / np.linalg.norm(array)).tolist()


@action
def centroid(*vectors: list[float]) -> list[float]:
    """The mean of the given vectors."""
    return np.mean([_array(v) for v in vectors], axis=0).tolist()


@action
def nearest(query: list[float], candidates: list[list[float]], k: int = 1) -> list[int]:
    """Indices of the `k` candidates most cosine-similar to `query`, best first."""
    q = _array(query)
    matrix = np.atleast_2d(_array(candidates))
    scores = matrix @ q / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(q))
    return np.argsort(-scores, kind="stable")[:k].tolist()
