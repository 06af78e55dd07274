"""Locating the shared sample files (``/work/shared/samples``) from tests.

The samples live outside the repository, so tests that need them must skip cleanly where they
are absent (e.g. a fresh clone in CI) instead of failing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SAMPLES_ENV_VAR = "PARTNER_SAMPLES_DIR"


def samples_dir() -> Path | None:
    """The samples directory: ``$PARTNER_SAMPLES_DIR`` if set, else ``shared/samples`` next to
    the repository checkout. None if neither exists."""
    candidates: list[Path] = []
    env = os.environ.get(SAMPLES_ENV_VAR)
    if env:
        candidates.append(Path(env))
    # tests/samples.py -> parents[1] is the repository root; the shared folder is its sibling.
    candidates.append(Path(__file__).resolve().parents[1].parent / "shared" / "samples")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def sample_path(relative: str) -> Path:
    """Path of one sample file, or skip the calling test if it is not available."""
    base = samples_dir()
    if base is None:
        pytest.skip(f"sample files not found (set {SAMPLES_ENV_VAR})")
    path = base / relative
    if not path.is_file():
        pytest.skip(f"sample file {relative} not found under {base}")
    return path
