#!/usr/bin/env python3
"""Writes the compliance suite's cases as fuzzer seeds: QUERY, NUL, DOCUMENT.

Usage: extract_seeds.py CTS_JSON OUT_DIR. Run at test time into the build
directory, so the suite's text never enters the repository.
"""
import hashlib
import json
import os
import sys


def main(cts_path, out_dir):
    with open(cts_path, encoding="utf-8") as f:
        tests = json.load(f)["tests"]
    os.makedirs(out_dir, exist_ok=True)
    for test in tests:
        seed = test["selector"].encode("utf-8", "surrogatepass")
        if "document" in test:
            seed += b"\0" + json.dumps(test["document"], ensure_ascii=False).encode("utf-8")
        name = hashlib.sha1(seed).hexdigest()
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(seed)
    print(f"{len(tests)} seeds in {out_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
