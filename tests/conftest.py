from pathlib import Path

import pytest
from django.conf import settings


@pytest.fixture
def data_dir() -> Path:
    """The real public data beside the checkout (../shared/data)."""
    path = Path(settings.SHARED_DATA_DIR)
    assert path.is_dir(), f"the shared data folder is missing: {path}"
    return path
