"""Program progress weighs steps by planned time; end reasons read as words (issue 23)."""

from __future__ import annotations

import pytest

from benchgui.core.programs.loader import parse_program_text as parse_program
from benchgui.core.programs.progress import end_words, leaf_plan, overall_fraction

PULSE_DCIR = """[program]
name = "settle then pulses"
[[step]]
kind = "cc"
current_a = 0.5
duration_s = 60
[[step]]
kind = "pulse"
current_a = 5.0
base_current_a = 0.5
on_s = 10
off_s = 50
count = 10
"""

LOOP_THEN_REST = """[program]
name = "loop then rest"
[[step]]
kind = "loop"
count = 3
until_ah = 1.0
steps = [ { kind = "cc", current_a = 2.0, duration_s = 100 }, { kind = "rest", duration_s = 100 } ]
[[step]]
kind = "rest"
duration_s = 600
"""

CC_TO_CUTOFF_THEN_REST = """[program]
name = "cc to cut-off then rest"
[[step]]
kind = "cc"
current_a = 5.0
until_voltage_below_v = "cutoff"
[[step]]
kind = "rest"
duration_s = 600
"""


def test_the_second_step_of_a_settle_and_pulses_is_not_half_way() -> None:
    plan = leaf_plan(parse_program(PULSE_DCIR).steps)
    assert plan == {"1": 60.0, "2": 600.0}
    assert overall_fraction(plan, "2", 0.0) == pytest.approx(60 / 660)  # equal steps said 50 %
    assert overall_fraction(plan, "2", 0.5) == pytest.approx(360 / 660)
    assert overall_fraction(plan, "1", 1.0) == pytest.approx(60 / 660)


def test_a_loop_ended_early_skips_its_passes() -> None:
    plan = leaf_plan(parse_program(LOOP_THEN_REST).steps)
    assert list(plan) == ["1.1#1", "1.2#1", "1.1#2", "1.2#2", "1.1#3", "1.2#3", "2"]
    # the loop's Ah condition ended it in pass 1: the final rest starts after 600 of 1200 s
    assert overall_fraction(plan, "2", 0.0) == pytest.approx(600 / 1200)


def test_a_step_without_a_planned_time_weighs_as_much_as_the_timed_ones() -> None:
    plan = leaf_plan(parse_program(CC_TO_CUTOFF_THEN_REST).steps)
    assert plan == {"1": 600.0, "2": 600.0}
    assert overall_fraction(plan, "1", 0.2) == pytest.approx(0.1)


def test_end_reasons_are_words() -> None:
    assert end_words("operator_abort") == "stopped by operator"
    assert end_words("cutoff_voltage") == "stopped at the cut-off voltage (safety)"
    assert end_words("completed") == "completed"
    assert end_words("something_new") == "something new"
    assert end_words("") == ""
