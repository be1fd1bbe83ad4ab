"""Youth-errance study: who enters the cohort (``cohort``), their monthly state sequences
built from the partners' contacts (``sequences``), the typology drawn from sequence distances
(``typology``), engagement spells with Kaplan–Meier survival (``survival``) and the
small-sample comparisons of proportions and medians used to contrast groups (``compare``).
The statistical functions are pure and deterministic so that every figure of the report can
be re-derived exactly from the canonical contacts frame.
"""
