"""What the link stage now makes once and shares (the clusters and person ids at the run's
threshold, the records' years of presence) gives what the former recomputation gave."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt

from observatoire.linkage.diagnostics import (
    _record_activity,
    network_range,
    threshold_sensitivity,
)
from observatoire.linkage.link import _person_ids, link_records
from tests.support.identity_network import day_centre_and_street_work


def test_shared_activity_and_person_ids_are_the_recomputed_ones() -> None:
    net = day_centre_and_street_work(n_persons=120, seed=5)
    contacts = net.contacts.assign(person_id=None)
    linkage = link_records(net.contacts, net.tokens)
    # The person ids at the run's threshold, shared, are the ones made from its labels.
    fresh = _person_ids(linkage._cluster_series(linkage.clustering.labels))
    first = linkage.person_of()
    pdt.assert_series_equal(first, fresh)
    pdt.assert_series_equal(linkage.person_of(linkage.settings.threshold), fresh)
    first.iloc[0] = "changé"  # a caller's change never reaches the shared mapping
    pdt.assert_series_equal(linkage.person_of(), fresh)
    pdt.assert_series_equal(
        linkage.cluster_of(), linkage._cluster_series(linkage.clustering.labels)
    )
    # The activity made once for both tables gives the tables made each from the contacts.
    activity = _record_activity(contacts)
    pdt.assert_frame_equal(
        threshold_sensitivity(linkage, contacts, activity),
        threshold_sensitivity(linkage, contacts),
    )
    street = set(linkage.street.index)
    pdt.assert_frame_equal(
        network_range(contacts, net.tokens, fresh, street, 10, activity),
        network_range(contacts, net.tokens, fresh, street, 10),
    )
    assert isinstance(activity, pd.DataFrame) and len(activity)
