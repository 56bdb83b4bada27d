"""HellaSwag helpers, copied from lm-eval 0.4.13 `lm_eval/tasks/hellaswag/utils.py`.

One change: the bundled items (see eval/data/hellaswag/SOURCE.md) only have the
joined `ctx` (= ctx_a + " " + ctx_b), not `ctx_a`/`ctx_b`, so the query is
`activity_label + ": " + ctx` instead of
`activity_label + ": " + ctx_a + " " + ctx_b.capitalize()`.
The first letter of ctx_b is therefore not capitalized. `preprocess` is kept as in
lm-eval; it is a no-op on the bundled (already preprocessed) text.
"""

import re

import datasets


def preprocess(text):
    text = text.strip()
    # NOTE: Brackets are artifacts of the WikiHow dataset portion of HellaSwag.
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def process_docs(dataset: datasets.Dataset) -> datasets.Dataset:
    def _process_doc(doc):
        ctx = doc["ctx"]  # lm-eval: doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
        out_doc = {
            "query": preprocess(doc["activity_label"] + ": " + ctx),
            "choices": [preprocess(ending) for ending in doc["endings"]],
            "gold": int(doc["label"]),
        }
        return out_doc

    return dataset.map(_process_doc)
