"""The reservoir keys of many seeded samples at once (pure numpy).

A partial profile row stores its sample's seed, not its keys: the keys are
`reservoir_keys(seed, n)`, i.e. the first n raw words of `numpy.random.PCG64(seed)`
shifted right by one (store.implied_keys). Building one PCG64 per row costs ~20-50 µs
(its SeedSequence hashing is Python-level), which dominated the first read of a window
after a backfill (hundreds of thousands of partial rows). `implied_keys_many` computes
the same words for every row in a few whole-array passes:

- numpy's SeedSequence (pool of 4 uint32 words, `mix_entropy` then `generate_state`)
  is a fixed sequence of uint32 multiply / xor-shift steps: run it on arrays of seeds;
- PCG64 is a 128-bit LCG, state' = a·state + c (mod 2^128), so the j-th state is
  a^j·s + (a^(j-1) + … + 1)·c: with those two coefficients tabulated per j, every
  (row, j) state comes from two 128-bit products, then the XSL-RR output.

128-bit numbers are (high, low) pairs of uint64 arrays. tests/models_app/test_profile_keys.py
holds the result equal to numpy's generator.
"""

from functools import lru_cache

import numpy as np

U32, U64 = np.uint32, np.uint64
MASK32 = U64(0xFFFFFFFF)
LOW64 = 2**64 - 1
INIT_A, MULT_A = 0x43B0D7E5, 0x931E8875
INIT_B, MULT_B = 0x8B51F9DD, 0x58F38DED
MIX_MULT_L, MIX_MULT_R = 0xCA01F9DD, 0x4973F715
PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341
POOL = 4
TABLE_STEP = 1024  # coefficient tables grow by this many steps at a time
CHUNK = 1 << 14


def _hash_constants(init: int, mult: int, count: int) -> list[int]:
    """The multiplier after each of `count` hash steps (it does not depend on the data)."""
    out, value = [], init
    for _ in range(count):
        value = (value * mult) & 0xFFFFFFFF
        out.append(value)
    return out


HASH_A = _hash_constants(INIT_A, MULT_A, POOL + POOL * (POOL - 1))
HASH_B = _hash_constants(INIT_B, MULT_B, 2 * POOL)
HASH_A_BEFORE = [INIT_A, *HASH_A[:-1]]  # the constant xor-ed in before each multiply
HASH_B_BEFORE = [INIT_B, *HASH_B[:-1]]


def _hashmix(value: np.ndarray, step: int) -> np.ndarray:
    value = (value ^ U32(HASH_A_BEFORE[step])) * U32(HASH_A[step])
    return value ^ (value >> U32(16))


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result = U32(MIX_MULT_L) * x - U32(MIX_MULT_R) * y
    return result ^ (result >> U32(16))


def seed_states(seeds: np.ndarray) -> np.ndarray:
    """`SeedSequence(seed).generate_state(4, uint64)` of each seed below 2**64, as an
    (n, 4) uint64 array (a seed below 2**32 is one entropy word, the same as [seed, 0])."""
    seeds = np.asarray(seeds, dtype=U64)
    entropy = [(seeds & MASK32).astype(U32), (seeds >> U64(32)).astype(U32)]
    with np.errstate(over="ignore"):
        entropy += [np.zeros_like(entropy[0])] * (POOL - 2)
        pool = [_hashmix(entropy[i], i) for i in range(POOL)]
        step = POOL
        for src in range(POOL):
            for dst in range(POOL):
                if src != dst:
                    pool[dst] = _mix(pool[dst], _hashmix(pool[src], step))
                    step += 1
        words = []
        for i in range(2 * POOL):
            value = (pool[i % POOL] ^ U32(HASH_B_BEFORE[i])) * U32(HASH_B[i])
            words.append((value ^ (value >> U32(16))).astype(U64))
    return np.stack([words[2 * i] | (words[2 * i + 1] << U64(32)) for i in range(POOL)], axis=1)


def _mul64(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The full 128-bit product of uint64 arrays, as (high, low)."""
    a0, a1, b0, b1 = a & MASK32, a >> U64(32), b & MASK32, b >> U64(32)
    p00, p01, p10 = a0 * b0, a0 * b1, a1 * b0
    mid = (p00 >> U64(32)) + (p01 & MASK32) + (p10 & MASK32)
    low = (p00 & MASK32) | (mid << U64(32))
    high = a1 * b1 + (p01 >> U64(32)) + (p10 >> U64(32)) + (mid >> U64(32))
    return high, low


def _mul128(ah, al, bh, bl) -> tuple[np.ndarray, np.ndarray]:
    high, low = _mul64(al, bl)
    return high + al * bh + ah * bl, low


def _add128(ah, al, bh, bl) -> tuple[np.ndarray, np.ndarray]:
    low = al + bl
    return ah + bh + (low < al).astype(U64), low


@lru_cache(maxsize=8)
def _coefficients(steps: int) -> tuple[np.ndarray, ...]:
    """(a^j high, a^j low, c_j high, c_j low) for j = 1..steps, c_j = a^(j-1) + … + 1."""
    power, total, rows = 1, 0, []
    for _ in range(steps):
        total = (total + power) % 2**128
        power = (power * PCG_MULT) % 2**128
        rows.append((power >> 64, power & LOW64, total >> 64, total & LOW64))
    return tuple(np.array(column, dtype=U64) for column in zip(*rows, strict=True))


def implied_keys_many(seeds: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The keys `reservoir_keys(seed, n)` of every (seed, n) pair, concatenated in order."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if not total:
        return np.empty(0, dtype=U64)
    state = seed_states(seeds)
    with np.errstate(over="ignore"):
        # pcg64_set_seed: state s = words 0:1, increment c = (words 2:3 << 1) | 1;
        # srandom: state = c; state += s; state = a·state + c.
        inc_h = (state[:, 2] << U64(1)) | (state[:, 3] >> U64(63))
        inc_l = (state[:, 3] << U64(1)) | U64(1)
        sh, sl = _add128(inc_h, inc_l, state[:, 0], state[:, 1])
        mh, ml = _mul128(sh, sl, U64(PCG_MULT >> 64), U64(PCG_MULT & LOW64))
        sh, sl = _add128(mh, ml, inc_h, inc_l)
        steps = -(-int(lengths.max()) // TABLE_STEP) * TABLE_STEP
        coefficients = _coefficients(steps)
        row = np.repeat(np.arange(len(lengths)), lengths)
        j = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        keys = np.empty(total, dtype=U64)
        for first in range(0, total, CHUNK):  # cache-sized pieces: fresh big arrays page-fault
            part = slice(first, first + CHUNK)
            keys[part] = _outputs(coefficients, j[part], sh, sl, inc_h, inc_l, row[part])
    return keys


def _outputs(coefficients, j, sh, sl, inc_h, inc_l, row) -> np.ndarray:
    """The keys of states j of rows `row`: a^j·s + c_j·inc, through XSL-RR, shifted."""
    ah, al, ch, cl = coefficients
    h1, l1 = _mul128(ah[j], al[j], sh[row], sl[row])
    h2, l2 = _mul128(ch[j], cl[j], inc_h[row], inc_l[row])
    high, low = _add128(h1, l1, h2, l2)
    # XSL-RR: rotate (high ^ low) right by the state's top 6 bits
    word, turn = high ^ low, high >> U64(58)
    rotated = (word >> turn) | (word << ((U64(64) - turn) & U64(63)))
    return rotated >> U64(1)
