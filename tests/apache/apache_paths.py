"""Paths of the two agents under test (a module of its own: every test directory has a
conftest.py, and `from conftest import ...` would pick whichever is first on sys.path)."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OURS = os.path.join(ROOT, "agents", "Apache")
REFERENCE = "/usr/lib/ocf/resource.d/heartbeat/apache"
