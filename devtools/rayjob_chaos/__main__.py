import sys

from rayjob_chaos.cli import main

sys.exit(main())
