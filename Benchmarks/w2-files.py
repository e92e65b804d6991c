"""W2's files: 200 JPEGs of 50 KiB (random bytes behind a JPEG header) in the folder given.

    python3 Benchmarks/w2-files.py DIR
"""
import os
import sys

for i in range(200):
    with open(os.path.join(sys.argv[1], f"f{i:03d}.jpg"), "wb") as f:
        f.write(b"\xff\xd8\xff\xe0" + os.urandom(50 * 1024 - 4))
