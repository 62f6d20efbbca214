"""Fence drivers: the code behind the fence_ocfkit_* agents (one module per device kind).

They live in the library, not in the scripts under fence/, so Python caches their
bytecode; the scripts only start them.
"""
