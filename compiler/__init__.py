"""Compiler: network description → fixed-point program and DDR image for the LSTM processor.

    net = Network([SequenceInput(12), LSTM(100, output_mode="last", ...), FullyConnected(9, ...), Softmax()])
    program = compile(net, ProcessorConfig(), calibration=training_sequences)
    print(program)            # layer table, formats, instruction counts, memory map

Modules: network (layers, validation, file format), quantize (fixed-point formats and shifts),
lower (buffer allocation and the run program), codegen (encoding, memory map, image, `compile`),
program (the result and its host-side helpers).
"""
from .codegen import compile
from .lower import CompileError
from .network import LSTM, Dropout, FullyConnected, Network, NetworkError, Regression, SequenceInput, Softmax
from .program import Program
from .quantize import QFormat

__all__ = ["compile", "CompileError", "Dropout", "FullyConnected", "LSTM", "Network", "NetworkError", "Program",
           "QFormat", "Regression", "SequenceInput", "Softmax"]
