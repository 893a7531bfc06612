"""The engine's allocator setting: applied once on glibc, skippable by environment."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from visualconv.engine import memory

ON_GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def _tuned_in_fresh_process(extra_env: dict[str, str]) -> str:
    env = {**os.environ, **extra_env}
    code = "import visualconv.engine.memory as m, visualconv.engine; print(m._done)"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return run.stdout


@pytest.mark.skipif(not ON_GLIBC, reason="the allocator is tuned on glibc only")
def test_importing_the_engine_tunes_glibc_once():
    assert _tuned_in_fresh_process({"VISUALCONV_SYSTEM_MALLOC": ""}).strip() == "True"
    assert memory.reuse_freed_memory() is True  # a second call changes nothing and agrees


def test_the_environment_leaves_the_allocator_alone():
    assert _tuned_in_fresh_process({"VISUALCONV_SYSTEM_MALLOC": "1"}).strip() == "False"
