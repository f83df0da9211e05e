"""How hard the fuzz and property tests try.

In `make test` they are derandomized: the same examples every run, so that a change
elsewhere never meets a random new failure. To explore, run them with
`MODELWATCH_FUZZ_RANDOM=1` (fresh random examples) and `MODELWATCH_FUZZ_SCALE=10`
(ten times as many examples).
"""

import os

DERANDOMIZE = os.environ.get("MODELWATCH_FUZZ_RANDOM", "") != "1"
SCALE = float(os.environ.get("MODELWATCH_FUZZ_SCALE", "1"))


def examples(count: int) -> int:
    return max(1, round(count * SCALE))
