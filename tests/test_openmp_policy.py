"""OpenMP's wait policy is set before torch loads, for scripts, the plugin and the command line; a user's is kept."""

import os
import subprocess
import sys

import pytest

REPORT = "import os, sys; {imports}; print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"


def _policy(imports, **env):
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run([sys.executable, "-c", REPORT.format(imports=imports)], env={**base, **env},
                          capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.mark.parametrize("imports", ["import napari_superres", "import napari_superres.cli",
                                     "from napari_superres._widgets import upscale"])
def test_passive_is_set_before_torch_is_imported(imports):
    assert _policy(imports) == ["PASSIVE", "False"]


def test_a_policy_the_user_set_is_kept():
    assert _policy("import napari_superres", OMP_WAIT_POLICY="ACTIVE") == ["ACTIVE", "False"]
