"""lm-eval 0.4.13's super_glue/copa/utils.py, plus the original-release -> SuperGLUE field mapping."""


def process_docs(dataset):
    def _to_superglue(doc):
        return {
            "idx": int(doc["id"]),
            "premise": doc["p"],
            "choice1": doc["a1"],
            "choice2": doc["a2"],
            "question": doc["asks-for"],
            "label": int(doc["most-plausible-alternative"]) - 1,
        }

    return dataset.map(_to_superglue, remove_columns=dataset.column_names)


# Copied from lm_eval/tasks/super_glue/copa/utils.py (lm-eval 0.4.13).
def convert_choice(choice):
    return choice[0].lower() + choice[1:]


def doc_to_text(doc):
    # Drop the period
    connector = {
        "cause": "because",
        "effect": "therefore",
    }[doc["question"]]
    return doc["premise"].strip()[:-1] + f" {connector}"


def doc_to_target(doc):
    correct_choice = doc["choice1"] if doc["label"] == 0 else doc["choice2"]
    # Connect the sentences
    return " " + convert_choice(correct_choice)


def doc_to_choice(doc):
    return [" " + convert_choice(doc["choice1"]), " " + convert_choice(doc["choice2"])]
