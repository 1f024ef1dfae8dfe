#!/usr/bin/env python3
"""Compiles each public header on its own, as C and as C++, with warnings as
errors: a header must include what it uses and be usable from C++."""
import os
import subprocess
import sys
import tempfile

include_dir = sys.argv[1]
compilers = {"c": sys.argv[2].split(), "c++": sys.argv[3].split() if sys.argv[3] else None}
headers = sys.argv[4:]
failed = 0
with tempfile.TemporaryDirectory() as tmp:
    for header in headers:
        rel = os.path.relpath(header, include_dir)
        for lang, cmd in compilers.items():
            if not cmd:
                print(f"SKIP {rel} as {lang}: no compiler")
                continue
            src = os.path.join(tmp, "h." + ("c" if lang == "c" else "cpp"))
            with open(src, "w") as f:
                f.write(f'#include "{rel}"\n#include "{rel}" /* include guard */\n'
                        "int main(void) { return 0; }\n")
            std = "-std=c11" if lang == "c" else "-std=c++11"
            res = subprocess.run(cmd + [std, "-Wall", "-Wextra", "-pedantic", "-Werror",
                                        "-fsyntax-only", "-I", include_dir, src],
                                 capture_output=True, text=True)
            status = "ok" if res.returncode == 0 else "FAILED"
            print(f"{status} {rel} as {lang}")
            if res.returncode:
                print(res.stdout + res.stderr)
                failed += 1
sys.exit(1 if failed else 0)
