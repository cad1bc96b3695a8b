"""Field rules: unified social credit codes (GB 32100-2015), GCJ-02 coordinates, distances."""

from __future__ import annotations

import math

# GB 32100-2015: 31 characters, the letters I, O, Z, S and V are never used.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GCJ-02 is only defined inside China: a generous bounding box of the mainland, Hong Kong and Macao.
CHINA_LAT = (3.8, 53.6)
CHINA_LNG = (73.5, 135.1)
EARTH_RADIUS_M = 6_371_008.8


def credit_code_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a code."""
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why a unified social credit code is invalid, or None when it is valid."""
    if len(code) != 18:
        return "must be 18 characters"
    bad = sorted({c for c in code if c not in CREDIT_CODE_ALPHABET})
    if bad:
        return f"characters not allowed by GB 32100-2015: {''.join(bad)}"
    if credit_code_check_char(code[:17]) != code[17]:
        return "wrong check character"
    return None


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
