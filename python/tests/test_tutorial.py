# SPDX-License-Identifier: MIT
"""Runs the ```python blocks of docs/python.md, in order, in one namespace,
from the repository's root, so the tutorial cannot rot."""
import os
import re

from conftest import ROOT


def test_tutorial_runs(monkeypatch, capsys):
    with open(os.path.join(ROOT, "docs", "python.md")) as f:
        text = f.read()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert len(blocks) >= 3
    monkeypatch.chdir(ROOT)
    namespace = {"__name__": "__tutorial__"}
    for i, code in enumerate(blocks):
        exec(compile(code, "docs/python.md[block %d]" % (i + 1), "exec"), namespace)
    out = capsys.readouterr().out
    assert "mmse:" in out and "PSNR" in out
