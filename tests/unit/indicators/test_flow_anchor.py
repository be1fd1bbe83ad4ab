"""New persons anchored on 1 January (the report's flows) and on each person's entry (US SPM
5), on a planted sample where each person's status under both rules is known."""

from __future__ import annotations

from observatoire.indicators import flows
from tests.support.frames import contacts_frame


def _planted():
    day = {"dispositif": "accueil_jour"}
    return contacts_frame(
        [
            {"person_id": "old", "date_start": "2021-06-01", **day},  # data reach back 730 days
            # seen 1 Feb 2022, again 15 June 2024: 699 days before 1 January (returning), but
            # 865 days before the entry (new under SPM 5)
            {"person_id": "p1", "date_start": "2022-02-01", **day},
            {"person_id": "p1", "date_start": "2024-06-15", **day},
            # a shelter stay across 1 January and nothing else: present, but no entry in 2024
            {"person_id": "p2", "date_start": "2023-12-20", "date_end": "2024-01-05"},
            # first contact ever: new under both rules
            {"person_id": "p3", "date_start": "2024-03-01", **day},
            # seen in November, back in February: continuing / not new
            {"person_id": "p4", "date_start": "2023-11-01", **day},
            {"person_id": "p4", "date_start": "2024-02-01", **day},
            # a stay running up to the entry is presence before it: not new
            {"person_id": "p5", "date_start": "2021-01-10", "date_end": "2024-04-01",
             "dispositif": "maison_accueil"},
            {"person_id": "p5", "date_start": "2024-04-02", **day},
        ]
    )  # fmt: skip


def test_the_entry_anchor_counts_entrants_and_new_persons_as_spm5():
    got = flows.entry_anchored_new(_planted(), 2024, 730)
    assert got["calculable"] is True
    assert got["entrants"] == 4  # p1, p3, p4, p5 (p2's stay began in 2023)
    assert (got["new"], got["known"]) == (2, 2)  # p1, p3 new; p4, p5 seen before


def test_the_1_january_anchor_calls_the_same_person_returning():
    status = flows.flow_status(_planted(), 2024, 730, 90).set_index("person_id")["status"]
    assert status["p1"] == flows.RETURNING and status["p3"] == flows.NEW
    assert status["p2"] == flows.CONTINUING


def test_the_entry_anchor_is_not_calculable_without_the_look_back():
    assert flows.entry_anchored_new(_planted(), 2022, 730)["calculable"] is False
