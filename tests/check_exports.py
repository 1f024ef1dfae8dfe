#!/usr/bin/env python3
"""Fails if the shared library exports a symbol without the gmmp_ prefix,
or if a function named in the version script is not exported."""
import re
import subprocess
import sys

lib, symfile = sys.argv[1], sys.argv[2]
out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                     capture_output=True, text=True).stdout
exported = set()
for line in out.splitlines():
    parts = line.split()
    if len(parts) < 3:
        continue
    name = parts[2].split("@")[0]
    if parts[1] == "A":          # version nodes such as GMMP_1.0
        continue
    exported.add(name)

bad = sorted(n for n in exported if not n.startswith("gmmp_"))
listed = set(re.findall(r"\b(gmmp_\w+);", open(symfile).read()))
missing = sorted(listed - exported)
unlisted = sorted(exported - listed)
for n in bad:
    print("exported without the gmmp_ prefix:", n)
for n in missing:
    print("listed in the version script but not exported:", n)
for n in unlisted:
    print("exported but not in the version script:", n)
print(f"{len(exported)} symbols exported")
sys.exit(1 if bad or missing or unlisted else 0)
