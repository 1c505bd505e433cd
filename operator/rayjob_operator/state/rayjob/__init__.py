"""The RayJob lifecycle as one explicit, pure state machine: ``decide(observation) -> Decision``."""

from rayjob_operator.state.rayjob.decide import decide

__all__ = ["decide"]
