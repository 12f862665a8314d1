"""OpenMP's wait policy for torch, set before torch is loaded (this module is the package's first import).

By default OpenMP's threads spin for a while after each parallel region, waiting
for the next one. Alone on a machine that saves a little; beside other work (a
napari session's Qt, vispy and worker threads, other jobs) the spinning threads
take the cores that the work they wait for needs, and small torch calls run many
times slower (see benchmarks/results/omp_policy.md). ``PASSIVE`` makes them sleep.
A value the user set is kept, and once torch is loaded the setting no longer
matters (OpenMP reads it when it starts), so importing torch first keeps OpenMP's default.
"""

import os

WAIT_POLICY = "PASSIVE"

os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
