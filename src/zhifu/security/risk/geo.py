"""Where terminals are: a table of cities (WGS-84 latitude and longitude, in micro-degrees) and
the great-circle distance between two of them, for the impossible-travel rule.

>>> round(distance_km("beijing", "shanghai"))
1067
>>> distance_km("beijing", "beijing")
0.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

__all__ = ["CITIES", "distance_km"]

CITIES: Final[Mapping[str, tuple[int, int]]] = {
    "beijing": (39_904_200, 116_407_400),
    "shanghai": (31_230_400, 121_473_700),
    "guangzhou": (23_129_100, 113_264_400),
    "shenzhen": (22_543_100, 114_057_900),
    "chengdu": (30_572_800, 104_066_800),
    "wuhan": (30_592_800, 114_305_500),
    "xian": (34_341_600, 108_939_800),
    "hangzhou": (30_274_100, 120_155_100),
    "nanjing": (32_060_300, 118_796_900),
    "chongqing": (29_563_000, 106_551_600),
}
"""City centres (the city halls, rounded); a terminal is registered in one of them."""
EARTH_RADIUS_KM: Final = 6371.0


def distance_km(a: str, b: str) -> float:
    """The great-circle (haversine) distance between two cities of :data:`CITIES`."""
    (lat1, lon1), (lat2, lon2) = (tuple(math.radians(v / 1e6) for v in CITIES[c]) for c in (a, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + (
        math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
