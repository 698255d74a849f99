"""Discharge programs: the step model, TOML loading, the runner service and its Ah/Wh meter."""

from benchgui.core.programs.loader import load_program, parse_program_text
from benchgui.core.programs.model import (
    ConstantStep,
    LoopStep,
    ProfileStep,
    Program,
    ProgramError,
    ProgramResult,
    PulseStep,
    RestStep,
    StepResult,
    Until,
)
from benchgui.core.programs.runner import ProgramRunner, Progress, RunnerState

__all__ = [
    "ConstantStep",
    "LoopStep",
    "ProfileStep",
    "Program",
    "ProgramError",
    "ProgramResult",
    "ProgramRunner",
    "Progress",
    "PulseStep",
    "RestStep",
    "RunnerState",
    "StepResult",
    "Until",
    "load_program",
    "parse_program_text",
]
