"""Simulation side: golden model, host driver, cocotb flow and the Workflow API.

`from sim import Workflow` is the entry point; submodules that need cocotb are imported only when
a simulator target is used."""


def __getattr__(name):
    # lazy, so `import sim.model` does not pull in the compiler and cocotb
    if name == "Workflow":
        from .workflow import Workflow
        return Workflow
    if name == "ClippingWarning":
        from .driver import ClippingWarning
        return ClippingWarning
    raise AttributeError(name)


__all__ = ["ClippingWarning", "Workflow"]
