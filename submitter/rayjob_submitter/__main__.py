"""``python -m rayjob_submitter`` runs ``rayjob-submit``."""

import sys

from rayjob_submitter.cli import main

sys.exit(main())
