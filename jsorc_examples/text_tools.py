"""Plain-Python text tools: counting, keywords, slugs, joining and templating."""

from __future__ import annotations

import collections
import re
import unicodedata

from jsorc import action

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_STOPWORDS = frozenset(
    "a an and are as at be but by for from has have he her his i in is it its of on or "
    "our she that the their them they this to was we were will with you your".split()
)


@action
def word_count(text: str) -> int:
    """Number of words in `text`."""
    return len(_WORD.findall(text))


@action
def keywords(text: str, top: int = 5) -> list[list]:
    """The `top` most frequent non-stopwords, as [word, count] pairs, ties alphabetical."""
    words = [w.lower() for w in _WORD.findall(text) if w.lower() not in _STOPWORDS]
    counts = collections.Counter(words)
    return [[w, c] for w, c in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[:top]]


@action(aliases=["slug"])
def slugify(text: str) -> str:
    """A lowercase ASCII slug: 'Hello, World!' -> 'hello-world'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


@action
def join(*words: str, sep: str = " ") -> str:
    """The words joined by `sep`."""
    return sep.join(str(w) for w in words)


@action
def render(template: str, **fields: object) -> str:
    """`template` with `{name}` placeholders filled from the keyword fields."""
    return template.format(**fields)
