#!/usr/bin/env python3
"""Writes a deterministic tree of FILES files in nested folders, about SIZE_MB in all.

Contents are text-like (words from a small vocabulary), so they compress the way
source code and documents do. Usage: gen_tree.py DIR [FILES] [SIZE_MB]
"""
import os
import random
import sys

def main():
    root = sys.argv[1]
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    size_mb = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    rng = random.Random(42)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(2, 10))) for _ in range(5000)]
    avg = size_mb * 1024 * 1024 // files
    for i in range(files):
        # Three levels of folders, 20 x 20 x up to 50 files.
        path = os.path.join(root, f"d{i % 20:02}", f"s{(i // 20) % 20:02}", f"f{i:05}.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        target = max(1, int(rng.expovariate(1 / avg))) if i % 7 else avg
        lines = []
        size = 0
        while size < target:
            line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 14)))
            lines.append(line)
            size += len(line) + 1
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")

if __name__ == "__main__":
    main()
