"""The same-answer detector on its labelled set (tests/quality/pairs.py): precision and
recall at the thresholds in quality/detector.py, per kind of pair, and over a grid of
thresholds. No database: it measures the detector's arithmetic.

    .venv/bin/python bench/quality.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import os
from collections import Counter

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.pop("DATABASE_URL", None)
django.setup()

from quality import detector
from tests.quality.pairs import Pair, pairs


def scores(pair: Pair) -> tuple[float, float]:
    reply = detector.similarity(
        detector.signature(pair.reply_a, [pair.name_a]),
        detector.signature(pair.reply_b, [pair.name_b]),
    )
    question = detector.similarity(
        detector.signature(pair.question_a), detector.signature(pair.question_b)
    )
    return reply, question


def same_category(pair: Pair) -> bool | None:
    if pair.category_a is None or pair.category_b is None:
        return None
    return pair.category_a == pair.category_b


def measure(
    scored: list[tuple[Pair, float, float]], same: float, different: float
) -> tuple[float, float, Counter[str]]:
    tp = fp = fn = 0
    wrong: Counter[str] = Counter()
    detector.REPLY_SAME, detector.QUESTION_DIFFERENT, saved = (
        same,
        different,
        (
            detector.REPLY_SAME,
            detector.QUESTION_DIFFERENT,
        ),
    )
    for pair, reply, question in scored:
        flagged = detector.same_answer(reply, question, same_category(pair))
        tp += flagged and pair.flag
        fp += flagged and not pair.flag
        fn += pair.flag and not flagged
        if flagged != pair.flag:
            wrong[pair.kind] += 1
    detector.REPLY_SAME, detector.QUESTION_DIFFERENT = saved
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, wrong


def main() -> None:
    labelled = pairs()
    scored = [(p, *scores(p)) for p in labelled]
    kinds = Counter(p.kind for p in labelled)
    print(f"labelled pairs: {len(labelled)} ({sum(p.flag for p in labelled)} to flag)")
    for kind, n in sorted(kinds.items()):
        print(f"  {kind:20} {n}")
    for name, subset in (
        ("all", scored),
        ("categorised", [s for s in scored if same_category(s[0]) is not None]),
        ("uncategorised", [s for s in scored if same_category(s[0]) is None]),
    ):
        precision, recall, wrong = measure(subset, detector.REPLY_SAME, detector.QUESTION_DIFFERENT)
        print(
            f"{name} ({len(subset)} pairs) at reply ≥ {detector.REPLY_SAME}, uncategorised "
            f"question ≤ {detector.QUESTION_DIFFERENT}: precision {precision:.3f}, "
            f"recall {recall:.3f}; wrong by kind {dict(wrong)}"
        )
    print("grid (precision / recall):")
    for same in (0.6, 0.7, 0.8, 0.9):
        row = []
        for different in (0.15, 0.25, 0.35, 0.5):
            p, r, _w = measure(scored, same, different)
            row.append(f"q≤{different}: {p:.2f}/{r:.2f}")
        print(f"  reply ≥ {same}: " + "  ".join(row))


if __name__ == "__main__":
    main()
