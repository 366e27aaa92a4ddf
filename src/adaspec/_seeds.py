"""The range of random seeds (numpy's generators take 0 .. 2^32 - 1); a module of its own so that the
command line reads it without importing torch."""

#: The largest seed numpy's generators take.
MAX_SEED = 2**32 - 1
