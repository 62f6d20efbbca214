"""Load an agent's declaration from its script without running an action.

Agent scripts call ``main()`` only under ``if __name__ == "__main__"``, so executing
them under another name just defines the class.
"""

import os


class LoadError(Exception):
    pass


def load_agent_class(path):
    import runpy

    from ocfkit.fence.agent import FenceAgent
    from ocfkit.ocf.agent import ResourceAgent

    if not os.path.isfile(path):
        raise LoadError(f"{path}: no such file")
    try:
        namespace = runpy.run_path(path, run_name="__ocfkit_load__")
    except SyntaxError as exc:
        raise LoadError(f"{path}: not a Python agent ({exc.msg})") from None
    except Exception as exc:  # noqa: BLE001 - report, do not crash the tool
        raise LoadError(f"{path}: cannot be loaded: {type(exc).__name__}: {exc}") from None
    found = [value for value in namespace.values()
             if isinstance(value, type) and issubclass(value, (ResourceAgent, FenceAgent))
             and value not in (ResourceAgent, FenceAgent)]
    if not found:
        raise LoadError(f"{path}: defines or imports no ocfkit ResourceAgent or FenceAgent")
    # A class defined in the script itself wins over one it imports (a launcher script
    # imports its agent from a module); the most derived one is the last.
    local = [cls for cls in found if cls.__module__ == "__ocfkit_load__"]
    return (local or found)[-1]
