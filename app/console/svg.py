"""A grid drawn as SVG: the branch's circle and its stores placed by their coordinates (no map tiles)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

METRES_PER_DEGREE = 111_320
SIZE = 400  # the drawing's half-width in SVG units


@dataclass(frozen=True)
class Dot:
    """A store on the drawing."""

    x: float
    y: float
    label: str
    kind: str
    href: str


@dataclass(frozen=True)
class GridDrawing:
    """What the template draws: the circle's radius and the dots, in a `-SIZE..SIZE` square."""

    radius: float
    dots: list[Dot]
    scale_m: int


def draw(
    lat: float, lng: float, radius_m: int, stores: list[dict[str, Any]], inactive_ids: set[int]
) -> GridDrawing:
    """Place stores around the branch by an equirectangular projection (fine at a few kilometres)."""
    reach = max([radius_m, *(_distance(lat, lng, s["lat"], s["lng"]) for s in stores)]) * 1.1
    units = SIZE / reach
    dots = []
    for store in stores:
        east = (store["lng"] - lng) * METRES_PER_DEGREE * math.cos(math.radians(lat))
        north = (store["lat"] - lat) * METRES_PER_DEGREE
        status = str(getattr(store["status"], "value", store["status"]))
        kind = "inactive" if store["merchant_id"] in inactive_ids else status
        dots.append(
            Dot(
                round(east * units, 1),
                round(-north * units, 1),
                str(store["name"]),
                kind,
                f"/console/merchants/{store['merchant_id']}",
            )
        )
    return GridDrawing(round(radius_m * units, 1), dots, radius_m)


def _distance(lat: float, lng: float, other_lat: float, other_lng: float) -> float:
    east = (other_lng - lng) * METRES_PER_DEGREE * math.cos(math.radians(lat))
    north = (other_lat - lat) * METRES_PER_DEGREE
    return math.hypot(east, north)
