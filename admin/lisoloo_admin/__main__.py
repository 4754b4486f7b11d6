"""``python -m lisoloo_admin``: the same as ``lisoloo-admin``."""

import sys

from lisoloo_admin.cli import main

sys.exit(main())
