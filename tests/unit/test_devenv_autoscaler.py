"""The autoscaler runner's kubelet part that needs nothing: $(VAR) expansion as the kubelet does it."""

from __future__ import annotations

from rayjob_devenv.autoscaler_runner import expand, expand_env


def test_expand_replaces_defined_names_only() -> None:
    values = {"A": "1", "B": "two"}
    assert expand("x $(A) $(B) $(C) $$(A) $A", values) == "x 1 two $(C) $(A) $A"


def test_env_values_see_the_ones_before_them() -> None:
    env = expand_env([("NAME", "c"), ("CMD", "run --name $(NAME) $(LATER)"), ("LATER", "late")], {"BASE": "b"})
    assert env == {"NAME": "c", "CMD": "run --name c $(LATER)", "LATER": "late"}
