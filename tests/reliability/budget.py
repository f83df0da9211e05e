"""How hard the fuzz and property tests try.

In `make test` they are derandomized: the same examples every run, so that a change
elsewhere never meets a random new failure. To explore, run them with
`MODELWATCH_FUZZ_RANDOM=1` (fresh random examples) and `MODELWATCH_FUZZ_SCALE=10`
(ten times as many examples).

Besides, the API fuzz runs once more with a fresh random seed every run,
`MODELWATCH_FUZZ_RANDOM_EXAMPLES` cases per operation (6 by default: about a minute in
all); the seed is printed, and `MODELWATCH_FUZZ_SEED=<seed>` replays that run.
"""

import os
import secrets

DERANDOMIZE = os.environ.get("MODELWATCH_FUZZ_RANDOM", "") != "1"
SCALE = float(os.environ.get("MODELWATCH_FUZZ_SCALE", "1"))
SEED = int(os.environ.get("MODELWATCH_FUZZ_SEED") or secrets.randbits(32))
RANDOM_EXAMPLES = int(os.environ.get("MODELWATCH_FUZZ_RANDOM_EXAMPLES", "6"))
RANDOM_RUN = False  # set once the random run has printed its seed


def examples(count: int) -> int:
    return max(1, round(count * SCALE))


def replay_hint() -> str:
    return (
        f"API fuzz random seed {SEED}: replay with MODELWATCH_FUZZ_SEED={SEED} "
        "pytest tests/reliability/test_api_fuzz.py -k random_seed"
    )
