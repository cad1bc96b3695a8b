"""Properties of the lucky-draw arithmetic: a roll lands in exactly the prize range that holds it, and
rolls derived from the committed seed are uniform enough that prizes come up at their probabilities."""

from __future__ import annotations

import secrets

from hypothesis import given
from hypothesis import strategies as st

from campaigns.schemas import Prize, Reward
from campaigns.types import draw

REWARD = Reward(kind="points", title="p", points=1)


def prizes_of(ppms: list[int]) -> list[Prize]:
    return [Prize(name=f"p{i}", probability_ppm=p, stock=1, reward=REWARD) for i, p in enumerate(ppms)]


@given(
    ppms=st.lists(st.integers(1, 250_000), min_size=1, max_size=4),
    roll=st.integers(0, draw.PPM - 1),
)
def test_a_roll_lands_in_the_range_that_holds_it(ppms: list[int], roll: int) -> None:
    index = draw.pick(prizes_of(ppms), roll)
    bounds = [sum(ppms[:i]) for i in range(len(ppms) + 1)]
    if roll >= bounds[-1]:
        assert index is None
    else:
        assert index is not None and bounds[index] <= roll < bounds[index + 1]


@given(seed=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64), reference=st.text(max_size=64))
def test_rolls_are_deterministic_and_in_range(seed: str, reference: str) -> None:
    digest = draw.digest(seed, reference)
    assert digest == draw.digest(seed, reference) and len(digest) == 64
    assert 0 <= draw.roll_of(digest) < draw.PPM


def test_prizes_come_up_at_their_probabilities() -> None:
    seed = secrets.token_hex(32)
    prizes = prizes_of([100_000, 300_000])  # 10 %, 30 %, 60 % no prize
    n = 20_000
    counts = {0: 0, 1: 0, None: 0}
    for i in range(n):
        counts[draw.pick(prizes, draw.roll_of(draw.digest(seed, f"draw:1:{i % 97}:{i}")))] += 1
    # Five standard deviations of a binomial(n, p): fails by chance about once in 3.5 million runs.
    for key, p in ((0, 0.1), (1, 0.3), (None, 0.6)):
        assert abs(counts[key] - n * p) < 5 * (n * p * (1 - p)) ** 0.5, counts
