import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "tests" / "_screenshots"


def datasets_dir() -> Path:
    return Path(os.environ.get("KIOSK_DATASETS", ROOT.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def datasets() -> Path:
    d = datasets_dir()
    if not d.is_dir():
        pytest.skip(f"shared datasets not found at {d} (set KIOSK_DATASETS)")
    return d


@pytest.fixture(scope="session")
def photos(datasets) -> Path:
    d = datasets / "photos"
    if not d.is_dir():
        pytest.skip(f"smoke-test photos not found at {d}")
    return d


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def cfg():
    from kiosk.config import load_config
    return load_config()
