# SPDX-License-Identifier: BSD-3-Clause
"""The tutti Python package: tutti._core (C, over libtutti) and, where
PyTorch is importable, tutti.torch._C (the c10d backend, built with
torch.utils.cpp_extension against that torch).

libtutti is found through pkg-config (`pkg-config --cflags --libs tutti`;
PKG_CONFIG_PATH as usual).  Environment:
  PYTUTTI_TORCH=0      do not build the PyTorch backend
  PYTUTTI_RPATH=DIR    run-time search path for libtutti (default: the
                        libdir pkg-config names)
  PYTUTTI_WERROR=1     warnings are errors (the in-tree build sets it)

    pip install --no-build-isolation --no-index python/
    python3 setup.py build_ext --inplace
"""
import os
import re
import shlex
import subprocess
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config"] + list(args) + ["tutti"], check=True, capture_output=True, text=True)
    except FileNotFoundError:
        sys.exit("tutti's Python package needs pkg-config to find libtutti")
    except subprocess.CalledProcessError as e:
        sys.exit("pkg-config cannot find tutti (%s): install libtutti or set PKG_CONFIG_PATH to the folder "
                 "of tutti.pc" % e.stderr.strip())
    return shlex.split(out.stdout)


def version():
    return pkg_config("--modversion")[0] if pkg_config("--modversion") else "0"


cflags = pkg_config("--cflags")
libs = pkg_config("--libs")
include_dirs = [f[2:] for f in cflags if f.startswith("-I")]
library_dirs = [f[2:] for f in libs if f.startswith("-L")]
libraries = [f[2:] for f in libs if f.startswith("-l")]
rpath = os.environ.get("PYTUTTI_RPATH") or (pkg_config("--variable=libdir") or [""])[0]
runtime_dirs = [rpath] if rpath else []
werror = ["-Werror"] if os.environ.get("PYTUTTI_WERROR") == "1" else []

ext_modules = [
    Extension(
        "tutti._core",
        sources=["tutti/_core.c", "tutti/_coll.c", "tutti/_p2p.c", "tutti/_request.c"],
        depends=["tutti/_core.h"],
        include_dirs=include_dirs,
        library_dirs=library_dirs,
        libraries=libraries,
        runtime_library_dirs=runtime_dirs,
        extra_compile_args=["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter",
                            "-Wno-missing-field-initializers", "-Wno-cast-function-type"] + werror,
    )
]
cmdclass = {}
packages = ["tutti"]

build_torch = os.environ.get("PYTUTTI_TORCH", "1") != "0"
if build_torch:
    try:
        import torch  # noqa: F401
        from torch.utils import cpp_extension
    except ImportError:
        build_torch = False
        print("tutti: PyTorch not importable: tutti.torch is not built", file=sys.stderr)


def torch_features():
    """-D flags for what the installed torch headers have (PyTorch 2.x grew
    virtuals over its minor versions; an override of a missing one does not
    compile): read from the headers themselves."""
    dirs = cpp_extension.include_paths() + ["/usr/include", "/usr/local/include"]

    def header(rel):
        for d in dirs:
            p = os.path.join(d, rel)
            if os.path.exists(p):
                with open(p, encoding="utf-8", errors="replace") as f:
                    return f.read()
        return ""

    backend = header("torch/csrc/distributed/c10d/Backend.hpp")
    exc = header("c10/util/Exception.h")
    scalar = header("c10/core/ScalarType.h")
    flags = []
    if re.search(r"virtual\s+void\s+shutdown\s*\(", backend):
        flags.append("-DTUTTI_TORCH_BACKEND_SHUTDOWN")
    if re.search(r"virtual\s+void\s+abort\s*\(", backend):
        flags.append("-DTUTTI_TORCH_BACKEND_ABORT")
    if "DistBackendError" in exc:
        flags.append("-DTUTTI_TORCH_DIST_BACKEND_ERROR")
    if re.search(r"_\(uint16_t,\s*UInt16\)", scalar):
        flags.append("-DTUTTI_TORCH_UINT_TYPES")
    return flags


if build_torch:
    srcs = ["backend.cpp", "ops.cpp", "engine.cpp", "convert.cpp", "init.cpp"]
    ext_modules.append(
        cpp_extension.CppExtension(
            "tutti.torch._C",
            sources=["tutti/torch/csrc/" + s for s in srcs],
            depends=["tutti/torch/csrc/" + h for h in ("backend.hpp", "engine.hpp", "convert.hpp")],
            include_dirs=include_dirs,
            library_dirs=library_dirs,
            libraries=libraries,
            runtime_library_dirs=runtime_dirs,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"] + torch_features() + werror,
        )
    )
    cmdclass["build_ext"] = cpp_extension.BuildExtension.with_options(use_ninja=False)
    packages.append("tutti.torch")

setup(
    name="tutti",
    version=version(),
    description="tutti: collective communication for distributed training (Python package and PyTorch backend)",
    license="BSD-3-Clause",
    packages=packages,
    ext_modules=ext_modules,
    cmdclass=cmdclass,
    python_requires=">=3.8",
    # PyTorch >= 2.5 imports this at `import torch`, which registers the backend
    entry_points={"torch.backends": ["tutti = tutti.torch:_autoload"]},
    zip_safe=False,
)
