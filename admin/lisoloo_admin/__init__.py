"""``lisoloo-admin``: the operator's command line for a Lisoloo stack in AWS or on the local stack.

Not deployed: it runs where the operator is, with the operator's credentials, and reaches the
table through the layer's own storage code (``lisoloo.storage``), so there is one way to write
an organization or a key. ``cli`` parses and prints, ``operations`` does, ``target`` says
where, ``usage_plans`` keeps API Gateway in step, ``provisioning`` creates organizations, keys
and carrier tokens (the local stack and the tests use it too).
"""
