"""``bench.common``: the percentile rule and the machine and library versions every
bench's result records, one definition each."""

from __future__ import annotations

import importlib.metadata
import os
import platform

import numpy as np
import pytest

from paperwire.bench.common import (
    VECTOR_SETS,
    cpu,
    machine,
    percentile,
    title_vectors_key,
    vectors_made_by,
    versions,
)


@pytest.mark.parametrize("p", [0, 1, 50, 90, 95, 99, 100])
@pytest.mark.parametrize("n", [1, 2, 7, 100, 301])
def test_a_percentile_is_a_measured_value_where_interpolation_reads(n: int, p: float) -> None:
    values = [float(v) for v in np.random.default_rng(n).permutation(n) * 3.0 + 1.0]
    got = percentile(values, p)
    assert got in values
    assert got == float(np.percentile(values, p, method="nearest"))


def test_versions_name_python_and_each_distribution_asked() -> None:
    found = versions("numpy", "no-such-distribution-paperwire")
    assert found == {
        "python": platform.python_version(),
        "numpy": importlib.metadata.version("numpy"),
        "no-such-distribution-paperwire": "-",
    }


def test_the_machine_names_its_cores() -> None:
    assert f"{os.cpu_count()} cpus" in machine()


# Two cores of a host with AVX and FMA and no AVX2, abridged.
CPUINFO = """processor\t: 0
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c
processor\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c
"""


def test_the_machine_names_its_processor_and_vector_sets() -> None:
    """Timings from hosts with and without AVX2 do not compare: a result says which."""
    assert cpu(CPUINFO) == "AMD EPYC (sse4_2 avx fma)"
    vnni = CPUINFO.replace("f16c", "f16c avx2 avx512f avx512_vnni")
    assert cpu(vnni) == "AMD EPYC (sse4_2 avx fma avx2 avx512f avx512_vnni)"
    assert cpu("processor\t: 0\n").endswith("(no vector sets listed)")
    assert cpu() in machine()
    if os.path.exists("/proc/cpuinfo"):  # this host's own: its flags, in the listed order
        with open("/proc/cpuinfo") as info:
            flags = next(line.split(":", 1)[1].split() for line in info if line.startswith("flags"))
        listed = [f for f in VECTOR_SETS if f in flags]
        assert cpu().endswith(f"({' '.join(listed) or 'no vector sets listed'})")


def test_cached_vectors_are_kept_apart_by_export_recipe() -> None:
    """Document vectors cached by one ONNX export are not served to a run of another
    recipe's (its queries would meet the older export's documents); torch and exports
    from before recipes were recorded keep the backend's name alone."""

    class Ran:
        def __init__(self, backend: str, recipe: int | None) -> None:
            self.backend, self.recipe = backend, recipe

    assert vectors_made_by(Ran("onnx-int8", 4)) == "onnx-int8-r4"
    assert vectors_made_by(Ran("onnx-int8", 3)) != vectors_made_by(Ran("onnx-int8", 4))
    assert vectors_made_by(Ran("onnx", None)) == "onnx"
    assert vectors_made_by(object()) == "torch"
    # the backends bench's sampled titles, which the recommendation bench reads too
    assert (
        title_vectors_key(20_500, Ran("onnx-int8", 4)) == "titles-20500-seed7-onnx-int8-r4-minilm"
    )
    assert title_vectors_key(20_500, object()) == "titles-20500-seed7-torch-minilm"
