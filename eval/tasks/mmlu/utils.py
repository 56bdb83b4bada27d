"""Few-shot pool filters for the bundled mini MMLU tasks.

Only 4 items per subject are bundled, so 5 same-subject shots are impossible. Every
subject task draws its shots from the cross-subject pool eval/data/mmlu/dev.jsonl (all
228 bundled items). lm-eval only removes the evaluated doc from the sampled shots when
the few-shot split *is* the test split (lm_eval/api/task.py, `fewshot_context`), which is
not the case here, so each subject task removes its own subject from the pool with
`fewshot_config.process_docs: !function utils.fewshot_pool_<subject>`. An evaluated item
can therefore never appear as its own shot, and the shots come from the other 56 subjects.

Stock MMLU samples with `first_n`: every question of a subject gets the same 5-shot
preamble (the subject's own dev split). The bundled tasks do the same: `first_n` over a
pool that starts right after the subject (the next subjects in this order, wrapping
around), so each subject has one fixed preamble of its own, as in a real run.
"""

from __future__ import annotations

# Same subjects and categories as lm-eval 0.4.13 lm_eval/tasks/mmlu/_generate_configs.py.
SUBJECTS = {
    "abstract_algebra": "stem",
    "anatomy": "stem",
    "astronomy": "stem",
    "business_ethics": "other",
    "clinical_knowledge": "other",
    "college_biology": "stem",
    "college_chemistry": "stem",
    "college_computer_science": "stem",
    "college_mathematics": "stem",
    "college_medicine": "other",
    "college_physics": "stem",
    "computer_security": "stem",
    "conceptual_physics": "stem",
    "econometrics": "social_sciences",
    "electrical_engineering": "stem",
    "elementary_mathematics": "stem",
    "formal_logic": "humanities",
    "global_facts": "other",
    "high_school_biology": "stem",
    "high_school_chemistry": "stem",
    "high_school_computer_science": "stem",
    "high_school_european_history": "humanities",
    "high_school_geography": "social_sciences",
    "high_school_government_and_politics": "social_sciences",
    "high_school_macroeconomics": "social_sciences",
    "high_school_mathematics": "stem",
    "high_school_microeconomics": "social_sciences",
    "high_school_physics": "stem",
    "high_school_psychology": "social_sciences",
    "high_school_statistics": "stem",
    "high_school_us_history": "humanities",
    "high_school_world_history": "humanities",
    "human_aging": "other",
    "human_sexuality": "social_sciences",
    "international_law": "humanities",
    "jurisprudence": "humanities",
    "logical_fallacies": "humanities",
    "machine_learning": "stem",
    "management": "other",
    "marketing": "other",
    "medical_genetics": "other",
    "miscellaneous": "other",
    "moral_disputes": "humanities",
    "moral_scenarios": "humanities",
    "nutrition": "other",
    "philosophy": "humanities",
    "prehistory": "humanities",
    "professional_accounting": "other",
    "professional_law": "humanities",
    "professional_medicine": "other",
    "professional_psychology": "social_sciences",
    "public_relations": "social_sciences",
    "security_studies": "social_sciences",
    "sociology": "social_sciences",
    "us_foreign_policy": "social_sciences",
    "virology": "other",
    "world_religions": "humanities",
}


_ORDER = list(SUBJECTS)


def _pool_without(subject: str):
    # The other subjects' items, starting with the subject after this one (`first_n` takes
    # the first five): a fixed preamble per subject, different between subjects.
    i = _ORDER.index(subject)
    rank = {s: (k - i) % len(_ORDER) for k, s in enumerate(_ORDER)}

    def fewshot_pool(dataset) -> list[dict]:
        docs = [doc for doc in dataset.to_list() if doc["subject"] != subject]
        return sorted(docs, key=lambda doc: rank[doc["subject"]])  # stable: file order within a subject

    fewshot_pool.__name__ = fewshot_pool.__qualname__ = f"fewshot_pool_{subject}"
    return fewshot_pool


# fewshot_pool_abstract_algebra, fewshot_pool_anatomy, ... (one per subject)
for _subject in SUBJECTS:
    globals()[f"fewshot_pool_{_subject}"] = _pool_without(_subject)
del _subject
