"""``warm_up`` compiles every numba kernel of the online feature path before a service takes
traffic (on a fresh install that compilation took ~30 s of the first live window; the
monitoring agent calls it at start). Run in a fresh interpreter with an empty numba cache
so that nothing compiled earlier in the suite can make it pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json
from numba.core.registry import CPUDispatcher
import firesight.features.gas as gas, firesight.features.thermal as thermal, firesight.features.timeseries as ts
from firesight.features.windows import warm_up

kernels = {f"{m.__name__}.{n}": k for m in (gas, thermal, ts) for n, k in vars(m).items()
           if isinstance(k, CPUDispatcher)}
before = {n: len(k.signatures) for n, k in kernels.items()}
seconds = warm_up(1.0, 60.0)
after = {n: len(k.signatures) for n, k in kernels.items()}
print(json.dumps({"before": before, "after": after, "seconds": seconds}))
"""


def test_warm_up_compiles_every_feature_kernel(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300,
                         check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(report["before"]) >= 3, report                      # the kernels were found ...
    assert all(n == 0 for n in report["before"].values()), report  # ... none compiled yet ...
    assert all(n >= 1 for n in report["after"].values()), report   # ... every one after warm_up
    assert report["seconds"] > 0
