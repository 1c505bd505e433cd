"""The named intervals after which a reconcile asks to run again (seconds). Time-based checks (deadlines,
TTLs, grace periods) compute their own delays; these are the fixed ones."""

from typing import Final

NOW: Final = 0.0
"""The status moved on and the next state has work to do at once."""
WHILE_DELETING: Final = 1.0
"""A teardown waits for its cluster, submitter and pods to be gone (deletions show in the watch too)."""
AFTER_DUE: Final = 2.0
"""After a deletion rule (or a wait for a previous attempt's cluster) was due: look again."""
AFTER_CONFLICT: Final = 0.2
"""A write lost a race (409, or a finalizer list that changed): decide again on the newer object."""
AFTER_CREATE_FAILURE: Final = 5.0
"""A RayCluster's pod could not be created: try again (quota may free up)."""
POD_SETTLE: Final = 0.2
"""A RayCluster's pod changed: reconcile the cluster this much later, so the changes of pods that start (or go)
together are seen, and written to its status, at once rather than one status write each."""
