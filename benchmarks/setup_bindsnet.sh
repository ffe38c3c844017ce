#!/usr/bin/env bash
# Build (or bring up to date) the BindsNET 0.3.4 benchmark environment for
# benchmarks/bindsnet_diehl_cook.py. Idempotent: rerunning it changes nothing.
#
#   bash benchmarks/setup_bindsnet.sh            # -> .venv-bindsnet (repository root)
#   BINDSNET_VENV=/other/path PYTHON=python3.11 bash benchmarks/setup_bindsnet.sh
#
# torch: the CPU build of 2.13.0 (torch==2.13.0+cpu) only. Where pip cannot
# find that wheel (no local wheel folder), point PIP_EXTRA_INDEX_URL at
# PyTorch's CPU wheel index; never install an unpinned torch (it pulls CUDA).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${BINDSNET_VENV:-$HERE/../.venv-bindsnet}"
PYTHON="${PYTHON:-python3.11}"
PY="$VENV/bin/python"

if [ ! -x "$PY" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$PY" -m pip install -q -U pip
# Exact versions, no resolver: BindsNET's metadata would pull torch>=2.14 and
# torchvision (see bindsnet_requirements.txt).
"$PY" -m pip install -q --no-deps -r "$HERE/bindsnet_requirements.txt"

# torchvision stand-in (bindsnet_shim/README.md): a .pth file puts the shim on
# the venv's path. Rewritten each run, so it follows the checkout it came from.
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$HERE/bindsnet_shim" > "$SITE/jstdp_bindsnet_shim.pth"

"$PY" - <<'PY'
from importlib.metadata import version

import mlxtend, torch, torchvision
from bindsnet.models import DiehlAndCook2015

assert torch.__version__ == "2.13.0+cpu", torch.__version__
assert not torch.cuda.is_available()
assert "bindsnet_shim" in torchvision.__file__, torchvision.__file__
print(f"ok: bindsnet {version('bindsnet')}, torch {torch.__version__}, "
      f"torchvision stand-in {torchvision.__version__}, mlxtend {mlxtend.__version__}")
PY
