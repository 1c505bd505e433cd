"""Fixtures of the integration tier: a real local control plane, a real Ray head, the operator.

Each fixture module is owned by one part of the harness and imported here.
"""

from tests.integration.fixtures_controlplane import *  # noqa: F403
from tests.integration.fixtures_kueue import *  # noqa: F403
from tests.integration.fixtures_operator import *  # noqa: F403
from tests.integration.fixtures_ray import *  # noqa: F403
