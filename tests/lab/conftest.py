import secrets

import pytest
from fixtures.lab import lab_cli, lab_traces


@pytest.fixture
def lab_name():
    """A lab name no other run uses; whatever it leaves is torn down afterwards."""
    name = "okl" + secrets.token_hex(3)
    yield name
    if any(lab_traces(name).values()):
        lab_cli("down", "--name", name, timeout=120)
