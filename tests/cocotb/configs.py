"""Processor configs of the cocotb runners. The int16, P = 16 runners share one config, so that each
simulator compiles it once per RTL version (a Verilator build of it takes about two minutes on
two cores) instead of once per runner."""
from __future__ import annotations

from rtl.config import ProcessorConfig

# small activation buffers (16-32 rows), so that region ends and row wrap are reached by short
# programs; weight, bias and instruction memories large enough for the stacked test networks
P16_INT16 = ProcessorConfig(lanes=16, vbuf_words=16, zbuf_words=32, ebuf_words=32, wbuf_words=512, bbuf_depth=256,
                            imem_depth=128)
P8_INT8 = ProcessorConfig(lanes=8, data_type="int8", vbuf_words=16, zbuf_words=32, ebuf_words=32, wbuf_words=1024,
                          bbuf_depth=256, imem_depth=128)
# the smallest config: 4 lanes, 32-bit AXI data
P4_INT8_AXI32 = ProcessorConfig(lanes=4, data_type="int8", vbuf_words=64, zbuf_words=64, ebuf_words=64, wbuf_words=256,
                                bbuf_depth=64, imem_depth=64, axi_data_bits=32)
