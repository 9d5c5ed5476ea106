"""The partition of a record notify_svc produces: aiokafka's `DefaultPartitioner`, cheaper.

Java's murmur2 of the key, made positive, modulo the partition count (what the Java client and
aiokafka choose, so a key lands where it always did); a record without a key goes to a random
partition, one that is available if any is. The hash takes the key's 4-byte blocks as integers at
once instead of byte by byte, and masks to 32 bits once per step.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF
_BLOCKS = struct.Struct("<I").iter_unpack


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data` (`org.apache.kafka.common.utils.Utils.murmur2`) as an unsigned
    32-bit integer: the value aiokafka's `murmur2` returns."""
    length = len(data)
    h = _SEED ^ length
    tail = length & ~3
    for (k,) in _BLOCKS(data[:tail]):
        k = k * _M & _MASK
        # Java's int arithmetic: only the low 32 bits of a product count, and the xor with `k`
        # (already below 2**32) commutes with that mask, so each step masks once.
        h = (h * _M ^ (k ^ k >> 24) * _M) & _MASK
    if length & 3:
        h = (h ^ int.from_bytes(data[tail:], "little")) * _M & _MASK
    h ^= h >> 13
    h = h * _M & _MASK
    return h ^ h >> 15


def partition(key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
    """The partition of a record with `key` (faust's `producer_partitioner` and aiokafka's
    `partitioner` contract): `all_partitions` sorted by id, `available` those with a leader."""
    if key is None:
        # Spreading, not secrecy: any partition will do.
        return random.choice(available or all_partitions)  # noqa: S311
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]
