"""What the operator reads about a program: overall progress and end reasons in words.

Progress weighs steps by their planned time (a 60-s settle before a 10-min pulse train is 9 %
of the program, not half of it). A step that ends only on a condition (voltage, Ah, Wh) has no
planned time; it weighs as much as the timed steps together (or 1 when there are none), its
own share coming from how far its condition is. An aborted or tripped program keeps the
progress it had reached; only a completed one shows 100 %.
"""

from __future__ import annotations

from benchgui.core.limits import (
    AH_LIMIT,
    CUTOFF_VOLTAGE,
    ERROR,
    EXIT,
    OPERATOR_ABORT,
    OVERCURRENT,
    SENSOR_DISAGREEMENT,
    SENSOR_LOST,
    SIGNAL,
    TEMPERATURE,
    TIME_LIMIT,
)
from benchgui.core.programs.model import ConstantStep, LoopStep, ProfileStep, PulseStep, RestStep, Step

COMPLETED = "completed"

# the machine words (events, run-program JSON) and what the panel says instead
END_WORDS = {
    COMPLETED: "completed",
    CUTOFF_VOLTAGE: "stopped at the cut-off voltage (safety)",
    AH_LIMIT: "stopped by the safety Ah limit",
    TIME_LIMIT: "stopped by the safety time limit",
    TEMPERATURE: "stopped: temperature too high",
    OVERCURRENT: "stopped: current too high",
    SENSOR_DISAGREEMENT: "stopped: the voltage sensors disagree",
    SENSOR_LOST: "stopped: a sensor stopped reporting",
    OPERATOR_ABORT: "stopped by operator",
    SIGNAL: "stopped: the program was asked to quit",
    ERROR: "stopped by an error",
    EXIT: "stopped: benchgui was closed",
    # how a single step ended (the results table)
    "duration": "time reached",
    "voltage": "voltage reached",
    "ah": "Ah reached",
    "wh": "Wh reached",
}


def end_words(reason: str) -> str:
    """``operator_abort`` → ``stopped by operator``; an unknown code is shown with spaces."""
    if not reason:
        return ""
    return END_WORDS.get(reason, reason.replace("_", " "))


def planned_s(step: Step) -> float | None:
    """How long a step runs if no condition ends it first (None: only a condition ends it)."""
    if isinstance(step, ConstantStep | RestStep) and step.duration_s:
        return float(step.duration_s)
    if isinstance(step, PulseStep):
        return float(step.count * (step.on_s + step.off_s))
    if isinstance(step, ProfileStep):
        return float(step.duration_s * step.repeat)
    return None


def leaf_plan(steps: tuple[Step, ...]) -> dict[str, float]:
    """Weight of every step that runs, loops expanded, keyed by the path the run gives it
    (``2``, ``1.2#3`` = step 2 of loop 1 in pass 3): a loop that ends early skips its passes."""
    planned: dict[str, float | None] = {}

    def walk(ss: tuple[Step, ...], prefix: str, passes: tuple[int, ...]) -> None:
        for n, s in enumerate(ss, 1):
            path = f"{prefix}{n}"
            if isinstance(s, LoopStep):
                for k in range(1, s.count + 1):
                    walk(s.steps, path + ".", (*passes, k))
            else:
                planned[path + ("#" + ".".join(map(str, passes)) if passes else "")] = planned_s(s)

    walk(steps, "", ())
    known = sum(p for p in planned.values() if p is not None)
    unknown_weight = known if known > 0 else 1.0
    return {k: (unknown_weight if p is None else max(p, 0.0)) for k, p in planned.items()}


def overall_fraction(plan: dict[str, float], path: str, step_fraction: float) -> float:
    """Progress 0…1 with the step at ``path`` running and ``step_fraction`` of it done."""
    total = sum(plan.values())
    if total <= 0 or path not in plan:
        return 0.0
    done = 0.0
    for key, weight in plan.items():  # run order
        if key == path:
            break
        done += weight
    return min(1.0, max(0.0, (done + plan[path] * min(1.0, max(0.0, step_fraction))) / total))
