"""OpenBookQA release rows (TSV columns) -> the Hub layout lm-eval's template reads."""

import re

_CHOICE = re.compile(r"\(([A-D])\) (.*?)(?= \([A-D]\) |$)")


def parse_choices(text: str) -> dict:
    """'(A) x (B) y (C) z (D) w' -> {'text': [x, y, z, w], 'label': [A, B, C, D]}."""
    pairs = _CHOICE.findall(text.strip())
    return {"text": [t for _, t in pairs], "label": [lab for lab, _ in pairs]}


def process_docs(dataset):
    def _to_hub(doc):
        return {
            "id": doc["ID"],
            "question_stem": doc["Question Stem"],
            "choices": parse_choices(doc["Choices"]),
            "answerKey": doc["Answer Key"],
        }

    return dataset.map(_to_hub, remove_columns=dataset.column_names)
