"""The LSTM processor: configuration, ISA and the MyHDL design (one @block per file)."""
from .config import ProcessorConfig

__all__ = ["ProcessorConfig"]
