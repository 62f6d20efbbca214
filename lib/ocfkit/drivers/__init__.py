"""Fence drivers: the code behind the fence_ocfkit_* agents (one module per device kind).

They live in the library, not in the scripts under fence/, so Python caches their
bytecode; the scripts only start them.
"""


def import_dependency(name, package):
    """Import a driver's third-party module when an action needs it.

    Launchers run Python with -S (no `site`, ~10 ms less per run) and add Debian's
    dist-packages themselves; a module installed elsewhere (pip) is found by running
    `site` now. Missing altogether: one line naming the package, not a traceback.
    """
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        import site

        site.main()
        try:
            return importlib.import_module(name)
        except ImportError:
            from ocfkit.fence import FenceError

            raise FenceError(f"this needs {package}, which is not installed") from None
