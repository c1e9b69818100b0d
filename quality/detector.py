"""The same-answer detector's arithmetic: text → normalised shingles → MinHash.

A reply is compared with the same author's earlier replies; a pair is flagged when the
replies are (nearly) the same text while the questions they answered are not alike —
"online service as a formality" (MISSION story 2). A canned response sent on purpose to
questions of the same kind is not flagged; the same text sent to unrelated questions is.

- Normalised: lower case; our ticket numbers, the generated status block, e-mail
  addresses, numbers and the citizen's own name (a filled `{citizen_name}`) taken out,
  so that a template with its placeholders filled reads as the template.
- Shingles: overlapping 5-character windows of the normalised words (robust to small
  edits and Indonesian affixes on short texts); MinHash with 128 permutations
  (`datasketch`), whose agreement estimates the Jaccard similarity of the shingle sets
  (standard error about 0.04 at 128).
- Questions are alike when their tickets share a category; only when a ticket has none
  are the questions' own words compared (a weak signal: two citizens rarely describe the
  same problem with the same words).
- Thresholds (measured on the labelled set in tests/quality/pairs.py, figures printed by
  bench/quality.py): replies SAME at ≥ 0.70; uncategorised questions DIFFERENT at ≤ 0.25.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash  # type: ignore[import-untyped]

from complaints.numbers import without_ticket_numbers

PERMUTATIONS = 128
SHINGLE = 5
SEED = 7  # one seed for every signature: only signatures of the same seed compare
REPLY_SAME = 0.70
QUESTION_DIFFERENT = 0.25

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER = re.compile(r"\d[\d.,:/-]*")
_NON_WORD = re.compile(r"[^\w]+")
# The status block (complaints.services.replies) starts a line with its first label.
_STATUS_BLOCK = re.compile(r"\n\s*(?:Status pengaduan|Complaint status)\b.*\Z", re.S)


def normalise(text: str, names: Iterable[str] = ()) -> str:
    """The words that make a reply what it is, without what fills it in for one ticket."""
    text = _STATUS_BLOCK.sub("", text)
    text = without_ticket_numbers(text).lower()
    for name in names:
        if name and len(name.strip()) > 1:
            text = text.replace(name.strip().lower(), " ")
    text = _EMAIL.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def shingles(text: str) -> set[bytes]:
    """5-character windows of `text` (normalised); a shorter text is its own shingle."""
    if len(text) <= SHINGLE:
        return {text.encode()} if text else set()
    return {text[i : i + SHINGLE].encode() for i in range(len(text) - SHINGLE + 1)}


def signature(text: str, names: Iterable[str] = ()) -> np.ndarray:
    """The MinHash signature of `text` (uint64 array of PERMUTATIONS values)."""
    sketch = MinHash(num_perm=PERMUTATIONS, seed=SEED)
    sketch.update_batch(list(shingles(normalise(text, names))))
    values: np.ndarray = sketch.hashvalues.astype(np.uint64)
    return values


def to_bytes(values: np.ndarray) -> bytes:
    return values.astype("<u8").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u8")


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two signatures' shingle sets."""
    return float(np.count_nonzero(a == b)) / PERMUTATIONS


def similarities(one: np.ndarray, many: np.ndarray) -> np.ndarray:
    """`similarity` of `one` with each row of `many` (a 2-D array), at once."""
    if not len(many):
        return np.zeros(0)
    result: np.ndarray = np.count_nonzero(many == one, axis=1) / PERMUTATIONS
    return result


def same_answer(reply: float, question: float, same_category: bool | None = None) -> bool:
    """The rule: the replies are the same text and the questions are not alike. Two
    questions are alike when their tickets have the same category (the institution's own
    word for "the same kind of complaint"); when either has none, when their words are."""
    if reply < REPLY_SAME:
        return False
    if same_category is not None:
        return not same_category
    return question <= QUESTION_DIFFERENT
