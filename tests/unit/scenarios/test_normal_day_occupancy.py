"""normal_day fills a room as an office is filled: ANSI/ASHRAE Standard 62.1-2022 Table 6-1
gives a default occupant density of 5 people per 100 m2 for office space; the generator
draws half to twice that per room (its stated model assumption)."""

import numpy as np

from firesight.scenarios.families import FAMILIES, normal_day_occupants


def _room(width_m: float, depth_m: float) -> dict:
    return {"width_m": width_m, "depth_m": depth_m}


def test_occupants_follow_the_floor_area_at_an_office_density():
    rng = np.random.default_rng(1)
    small = [normal_day_occupants(rng, _room(4.0, 4.0)) for _ in range(500)]
    large = [normal_day_occupants(rng, _room(10.0, 12.0)) for _ in range(500)]
    # 16 m2 at 2.5-10 per 100 m2: 0.4-1.6 people, so one (the floor of one person) or two
    assert set(small) <= {1, 2}
    # 120 m2: 3-12 people, capped at 8
    assert min(large) >= 3 and max(large) == 8
    assert 4.0 <= np.median(large) <= 8.0


def test_normal_day_scenarios_hold_as_many_people_as_the_room_allows():
    family = FAMILIES["normal_day"]
    for seed in range(20):
        params = family.sample(np.random.default_rng(seed), 600.0)
        room = params["room"]
        floor = room["width_m"] * room["depth_m"]
        people = next(s for s in params["sources"] if s.get("kind") == "people")["people"]
        assert 1 <= len(people) <= max(1, round(floor * 10.0 / 100.0))
