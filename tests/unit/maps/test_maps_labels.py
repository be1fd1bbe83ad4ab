"""Zone labels on the HTML map are placed clear of the service markers (planted layouts)."""

from __future__ import annotations

from shapely.geometry import Point, box

from observatoire.reports.maps.labels import MARKER_PX, VIEWS_PX, label_box, place_labels


def _clear(zone_point: Point, size, marker: tuple[float, float], mpp: float) -> bool:
    w, h = size.width * mpp / 2, size.height * mpp / 2
    rect = box(zone_point.x - w, zone_point.y - h, zone_point.x + w, zone_point.y + h)
    return not rect.intersects(Point(marker).buffer(MARKER_PX * mpp))


def test_a_label_leaves_a_marker_planted_on_its_zone_centre():
    zone = box(0, 0, 1000, 1000)
    size = label_box(["Centre-ville", "241"])
    marker = (500.0, 500.0)  # on the pole of inaccessibility, where the label would go
    placed = place_labels({"Centre-ville": zone}, {"Centre-ville": size}, [marker], 4000.0)
    p = placed["Centre-ville"]
    assert zone.contains(p) and p.distance(Point(marker)) > 0
    # clear at the coarsest view it was placed for, hence at every finer one
    assert _clear(p, size, marker, 4000.0 / VIEWS_PX[-1])


def test_without_markers_a_label_sits_on_its_zone_and_two_labels_do_not_touch():
    a, b = box(0, 0, 600, 600), box(600, 0, 1200, 600)
    sizes = {n: label_box([n, "12"]) for n in ("A", "B")}
    placed = place_labels({"A": a, "B": b}, sizes, [], 3000.0)
    assert placed["A"].distance(Point(300, 300)) < 1 and placed["B"].distance(Point(900, 300)) < 1
