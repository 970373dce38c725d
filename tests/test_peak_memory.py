"""Peak memory as the batch workers and the benchmarks report it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from emote.batch.job import peak_rss_mb

CHILD = "import json; from emote.batch.job import peak_rss_mb; print(json.dumps(peak_rss_mb()))"


def test_a_child_reports_its_own_peak_not_its_parents():
    # ru_maxrss of a fork + exec child starts at the parent's resident size on Linux: 400 MiB
    # held here must not show up in a small child's figure.
    ballast = np.ones(400 * 2**20 // 8)
    assert peak_rss_mb() > 400
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    child = json.loads(out.stdout)
    assert 10 < child < 300, child
    del ballast


def test_a_child_that_touches_memory_reports_it():
    code = (
        "import json, numpy as np; from emote.batch.job import peak_rss_mb; "
        "b = np.ones(200 * 2**20 // 8); print(json.dumps(peak_rss_mb()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) > 200
