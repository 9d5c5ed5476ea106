"""``make bench``: run every benchmark and print one JSON line each."""

from __future__ import annotations

import json
import sys

from bench.runtime_throughput import run as runtime_throughput


def main() -> None:
    results = [runtime_throughput()]
    for result in results:
        sys.stdout.write(json.dumps(result) + "\n")


main()
