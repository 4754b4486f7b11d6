"""What a function resumed from a Lambda SnapStart snapshot must not share with the other copies
resumed from the same snapshot (AWS: "Handling uniqueness with Lambda SnapStart").

Every copy starts with the memory the snapshot holds, so with the same state of Python's
``random`` module: the jitter that spreads retries apart (``storage.table.attempts``, webhook
back-off) would be the same in every copy. It is seeded again, from the kernel's entropy,
after each restore. Nothing else unique is made at initialization: ids and secrets come from
``secrets``/``os.urandom`` when used, AWS clients and their connections on first use.

The hooks library (``snapshot_restore_py``) is part of Lambda's Python runtimes; elsewhere
(tests, the local stack) nothing is ever restored, and nothing is registered.
"""

from __future__ import annotations

import random

try:
    from snapshot_restore_py import register_after_restore
except ImportError:  # not in Lambda's runtime
    RESTORE_HOOKS = False
else:
    register_after_restore(random.seed)
    RESTORE_HOOKS = True
