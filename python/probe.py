# SPDX-License-Identifier: BSD-3-Clause
"""configure's probe of one interpreter: exits 1 unless it can build the
package (Python.h and setuptools); otherwise prints two words: whether
numpy imports ('numpy' or '-') and the torch version when torch with
torch.distributed and libtorch's c10d headers is there ('-' if not)."""
import os
import sys
import sysconfig

try:
    import setuptools  # noqa: F401
except ImportError:
    sys.exit(1)
if not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")):
    sys.exit(1)
try:
    import numpy  # noqa: F401
    have_numpy = "numpy"
except Exception:
    have_numpy = "-"
torch_version = "-"
try:
    import torch
    import torch.distributed as dist
    from torch.utils import cpp_extension

    dirs = cpp_extension.include_paths() + ["/usr/include", "/usr/local/include"]
    hdr = "torch/csrc/distributed/c10d/ProcessGroup.hpp"
    if dist.is_available() and any(os.path.exists(os.path.join(d, hdr)) for d in dirs):
        torch_version = torch.__version__
except Exception:
    pass
print(have_numpy, torch_version)
