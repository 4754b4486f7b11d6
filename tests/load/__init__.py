"""``make load``: a bounded loopback load against a local stack of its own (see run.py)."""
