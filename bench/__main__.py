"""`python -m bench [name ...]`: run every benchmark module in bench/ (or the named ones)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def benchmark_names() -> list[str]:
    folder = str(Path(__file__).resolve().parent)
    return sorted(m.name for m in pkgutil.iter_modules([folder]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    names = argv or benchmark_names()
    unknown = sorted(set(names) - set(benchmark_names()))
    if unknown:
        print(f"unknown benchmarks: {', '.join(unknown)}; there are {', '.join(benchmark_names())}")
        return 2
    over = []
    for name in names:
        print(f"== bench.{name}", flush=True)
        if not importlib.import_module(f"bench.{name}").main():
            over.append(name)
    if over:
        print(f"Over budget: {', '.join(over)}")
        return 1
    print("All benchmarks within budget.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
