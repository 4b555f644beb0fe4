"""Synthetic applications for load tests: fixed sequences of calls to the example actions.

Each is modelled on a real assistant / NLP pipeline step by step (a request runs every
step in order through the router). Inputs are fixed, so runs are repeatable.
Non-goal: realism of the outputs; the point is a realistic mix of call costs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

QUESTION = (
    "How do I reset my password when the reset email never arrives and the account "
    "is locked after too many attempts?"
)
ARTICLE = (
    "Orchestrators place work where it runs best. An action that is called often and "
    "needs little memory belongs in the caller's process; a large model called rarely "
    "belongs in its own service. Measuring latency per call tells which is which, and "
    "the placement can then move while the application keeps running."
)
# Four-dimensional "embeddings" of FAQ entries and of the question (fixed numbers).
FAQ_VECTORS = [[0.9, 0.1, 0.0, 0.2], [0.1, 0.8, 0.3, 0.0], [0.2, 0.2, 0.9, 0.1],
               [0.7, 0.0, 0.1, 0.6], [0.0, 0.3, 0.2, 0.9]]  # fmt: skip
QUESTION_VECTOR = [0.8, 0.1, 0.1, 0.4]
FLOWER = [6.7, 3.0, 5.2, 2.3]


@dataclasses.dataclass(frozen=True)
class Step:
    function: str  # "group.function"
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class App:
    name: str
    description: str
    steps: tuple[Step, ...]

    @property
    def actions(self) -> list[str]:
        """The action groups the app calls, in first-use order."""
        seen: dict[str, None] = {}
        for step in self.steps:
            seen.setdefault(step.function.split(".")[0], None)
        return list(seen)


APPS: dict[str, App] = {
    app.name: app
    for app in (
        App(
            "faq_assistant",
            "A help-desk assistant: read the question, find the closest FAQ entry, answer.",
            (
                Step("text_tools.word_count", (QUESTION,)),
                Step("text_tools.keywords", (QUESTION,), {"top": 5}),
                Step("vectors.normalize", (QUESTION_VECTOR,)),
                Step("vectors.nearest", (QUESTION_VECTOR, FAQ_VECTORS), {"k": 2}),
                Step(
                    "text_tools.render",
                    ("See FAQ {entry}: {title}",),
                    {"entry": 1, "title": "password reset"},
                ),
            ),
        ),
        App(
            "flower_triage",
            "Intent-classification pipeline: classify the input, then phrase the reply.",
            (
                Step("classifier.predict", (FLOWER,)),
                Step("text_tools.slugify", ("Iris Virginica",)),
                Step("text_tools.render", ("Looks like {species}.",), {"species": "virginica"}),
            ),
        ),
        App(
            "semantic_search",
            "Retrieval step of a RAG assistant: normalise, rank, summarise the hits.",
            (
                Step("vectors.normalize", (QUESTION_VECTOR,)),
                Step("vectors.nearest", (QUESTION_VECTOR, FAQ_VECTORS), {"k": 3}),
                Step("vectors.centroid", tuple(FAQ_VECTORS[:3])),
                Step("vectors.cosine_similarity", (QUESTION_VECTOR, FAQ_VECTORS[0])),
                Step("text_tools.join", ("hit-0", "hit-3", "hit-1"), {"sep": ","}),
            ),
        ),
        App(
            "document_digest",
            "Summarising an article for a feed: size, keywords, a slug and a card.",
            (
                Step("text_tools.word_count", (ARTICLE,)),
                Step("text_tools.keywords", (ARTICLE,), {"top": 8}),
                Step("text_tools.slugify", ("Where should actions run?",)),
                Step(
                    "text_tools.render",
                    ("{title} ({words} words)",),
                    {"title": "Where should actions run?", "words": 64},
                ),
            ),
        ),
    )
}
