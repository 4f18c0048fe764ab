"""Mutation check: realistic single-point RTL bugs, applied one at a time, that the suite must kill.

`python -m tests.mutation [--suite quick|full] [--only NAME ...] [--list] [--timeout MIN]`

For each mutant in MUTANTS the tracked files of the repository (`git ls-files`) are copied into a
temporary directory (with a link to .venv), the mutant's snippet is replaced there, and pytest runs
the suite in that copy with `-x`: the mutant is killed at the first failing test. Builds go to the
copy's own build folder (DLP_BUILD_DIR), and whatever the tests write (shrunk random cases kept in
tests/regressions/, logs) stays in the copy, which is deleted afterwards. Suites:
  full   what `make test` runs (`-m "not slow and not regress"`, all of tests/ but the synthesis and
         this table's test), the fast killers first: tests/rtl, the ISA scenarios, the random regressions
  quick  tests/rtl, the ISA scenarios on both simulators and the random regressions on Verilator
Prints a table (killed, survived or timeout per mutant; the first failing test and the first line
of its message; the wall time), the mutation score and the total time, and writes
build/mutation/report.json with each mutant's pytest log next to it.

`python -m tests.mutation --check-verilog` converts the cocotb int16 config once per mutant and
says whether its Verilog differs from the unmutated design's (a mutant that changes nothing there
is equivalent for the simulators and proves nothing)."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree

REPO = pathlib.Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str
    path: str          # RTL file, relative to the repository
    original: str      # occurs exactly once in that file
    replacement: str
    bug: str           # the mistake a designer could make

    def apply(self, root: pathlib.Path) -> None:
        """Replace the snippet in the copy at `root` (raises if it does not occur exactly once)."""
        target = root / self.path
        text = target.read_text()
        found = text.count(self.original)
        if found != 1:
            raise ValueError(f"mutant {self.name}: its snippet occurs {found} times in {self.path}; "
                             "update tests/mutation.py to the RTL")
        target.write_text(text.replace(self.original, self.replacement))


MUTANTS = (
    Mutant("ew_sat_mask_off_by_one", "rtl/ew_kernel.py",
           "k_mask.next = ((1 << (w + 1)) - 1) ^ ((1 << s2) - 1)",
           "k_mask.next = ((1 << (w + 1)) - 1) ^ ((1 << (s2 + 1)) - 1)",
           "EW saturation check off by one: the lowest bit pair (bits shift2 + W - 1 and shift2 + W) is "
           "not tested, so a result up to twice the range wraps instead of saturating"),
    Mutant("ew_sat_count_past_partial_word", "rtl/ew_kernel.py",
           "and not rst and lane < count",
           "and not rst and lane <= count",
           "EW SAT_COUNT counts the lane just past a partial word's last element (lane <= count)"),
    Mutant("fc_round_half_dropped", "rtl/fc_kernel.py",
           "low[:] = tq[tq_lo:] + 1",
           "low[:] = tq[tq_lo:]",
           "FC drops the rounding half (the +1 before the last shift): truncates instead of rounding to nearest"),
    Mutant("fc_saturation_off_by_one", "rtl/fc_kernel.py",
           "over = not tq[tq_bits - 1] and (tq[tq_bits - 1:w] != 0 or low_ones)",
           "over = not tq[tq_bits - 1] and tq[tq_bits - 1:w] != 0",
           "FC positive saturation tests tq >= 2^W instead of tq >= 2^W - 1: a result that rounds to "
           "exactly max + 1 wraps to min"),
    Mutant("fc_split_boundary", "rtl/fc_kernel.py",
           "lane_a.next[lane] = elem < nf",
           "lane_a.next[lane] = elem <= nf",
           "FC split boundary k <= split instead of k < split: the first column after the split is "
           "also summed into the shifted x segment"),
    Mutant("act_sign_from_wrong_stage", "rtl/act_kernel.py",
           "            if neg3[lane]:\n                kfrac[lane].next = -y",
           "            if neg2[lane]:\n                kfrac[lane].next = -y",
           "ACT symmetry: the sign of k*frac taken one pipeline stage early (neg2 instead of neg3), "
           "so it is the next word's sign"),
    Mutant("act_softmax_max_not_initialised", "rtl/act_kernel.py",
           "if cmp_en and (m_first or zc > m):",
           "if cmp_en and zc > m:",
           "softmax max pass does not load its first element: the maximum starts from the previous "
           "softmax's (wrong when every element is below it)"),
    Mutant("dma_4k_boundary_off_by_one", "rtl/dma.py",
           "to_boundary.next = (4096 - (addr & 4095)) >> beat_shift",
           "to_boundary.next = (4095 - (addr & 4095)) >> beat_shift",
           "DMA 4 KB burst split: beats to the boundary computed from 4095, one beat short (a zero-beat "
           "burst right before the boundary)"),
    Mutant("dma_last_beat_strobes_in_elements", "rtl/dma.py",
           "axi.wstrb.next = (1 << (left * cfg.elem_bytes)) - 1",
           "axi.wstrb.next = (1 << left) - 1",
           "DMA write strobes of the last partial beat counted in elements, not bytes (int16 drops "
           "half of the last beat's bytes)"),
    Mutant("issue_loop_single_pass", "rtl/issue.py",
           "loop_more.next = (trip_d >> 1) != 0  # > 1",
           "loop_more.next = trip_d != 0  # > 1",
           "issue loop end: after entering a loop 'more passes' tests trip >= 1 instead of > 1 "
           "(a one-step sequence)"),
    Mutant("issue_instrs_without_end", "rtl/issue.py",
           "executed.next = advance or finish",
           "executed.next = advance",
           "INSTRS does not count the END instruction"),
    Mutant("hazard_range_end_inclusive", "rtl/hazards.py",
           "out.next = lo < hi\n",
           "out.next = lo <= hi\n",
           "hazard range end compared inclusively (lo <= hi): touching ranges and empty ones conflict, "
           "the issue unit stalls where it need not"),
    Mutant("hazard_war_second_read_ignored", "rtl/hazards.py",
           "if (nw_o0 and o0_nw) or (has_read1 and nw_o1 and o1_nw):",
           "if nw_o0 and o0_nw:",
           "hazard: a write is not checked against an older EW's second read range (missed WAR)"),
    Mutant("predecode_wbuf_end_inclusive", "rtl/predecode.py",
           "(a_ldw and a_bias_end > cfg.wbuf_words)",
           "(a_ldw and a_bias_end >= cfg.wbuf_words)",
           "weight-load bound check rejects a load that ends exactly at the weight buffer's end"),
    Mutant("regs_sat_count_not_cleared", "rtl/regs.py",
           "            c_instr.next = 0\n            c_sat.next = 0\n",
           "            c_instr.next = 0\n",
           "START clears every counter but SAT_COUNT: it accumulates over runs"),
    Mutant("abuf_write_bank_row_boundary", "rtl/abuf.py",
           "if b < off:\n                        v_wrows",
           "if b <= off:\n                        v_wrows",
           "banked buffer write: bank `off` itself gets the next row (b <= off), so an element lands "
           "a row too far"),
)

MARKERS = "not slow and not regress"
FAST_FIRST = ["tests/rtl", "tests/cocotb/test_isa.py", "tests/cocotb/test_random.py"]
SYNTH_TEST = "tests/unit/test_synth.py"   # synthesises (many minutes): not run on mutants
# checks this table against the unmutated sources, so it fails in every mutated copy: no kill
TABLE_TEST = "tests/unit/test_mutation.py"
QUICK = ["tests/rtl", "tests/cocotb/test_isa.py", "tests/cocotb/test_random.py::test_random_programs",
         "tests/cocotb/test_random.py::test_random_networks", "-k", "not (test_random and icarus)"]


def suite_args(suite: str, root: pathlib.Path = REPO) -> list[str]:
    """pytest's arguments for a suite. `full`: every test file of `make test` but the synthesis
    and this table's own test, the fast killers first, then the unit tests, then the other cocotb tests. The files are named
    one by one: pytest collects overlapping arguments (`tests/rtl ... tests`) in directory order."""
    if suite == "quick":
        return ["-m", MARKERS, *QUICK]
    files = sorted(p.relative_to(root).as_posix() for p in (root / "tests").rglob("test_*.py"))
    rest = [f for f in files if f not in (SYNTH_TEST, TABLE_TEST) and not any(f == d or f.startswith(d + "/") for d in FAST_FIRST)]
    rest.sort(key=lambda f: not f.startswith("tests/unit/"))   # pure Python first (stable sort)
    return ["-m", MARKERS, *FAST_FIRST, *rest]


SUITES = ("full", "quick")


def tracked_files(repo: pathlib.Path = REPO) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=repo, check=True, capture_output=True).stdout
    return [f for f in out.decode().split("\0") if f]


def copy_repo(dest: pathlib.Path, repo: pathlib.Path = REPO) -> None:
    """The tracked files of `repo` into `dest`, and a link to its .venv."""
    for name in tracked_files(repo):
        src = repo / name
        if not src.is_file():   # deleted in the work tree but still tracked
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    venv = repo / ".venv"
    if venv.exists():
        (dest / ".venv").symlink_to(venv.resolve())


def first_failure(junit: pathlib.Path) -> tuple[str, str]:
    """The first failing or erroring test of a JUnit report and its message's first line."""
    if not junit.exists():
        return "", ""
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        for tag in ("failure", "error"):
            node = case.find(tag)
            if node is not None:
                test = f"{case.get('classname', '')}::{case.get('name', '')}".lstrip(":")
                message = (node.get("message") or node.text or "").strip().splitlines()
                return test, message[0][:200] if message else ""
    return "", ""


COCOTB_FAIL = re.compile(r"\*\*\s+(\S+)\s+FAIL\s")


def cocotb_failures(log: str) -> list[str]:
    """The failing cocotb tests named in a log's result tables (a runner's pytest failure only
    says `SystemExit: 1`)."""
    return list(dict.fromkeys(COCOTB_FAIL.findall(log)))


def run_mutant(mutant: Mutant | None, suite: str, timeout_s: float, log_dir: pathlib.Path,
               jobs: int = 1, keep: bool = False) -> dict:
    """Run `suite` on a copy of the repository with `mutant` applied (None: unmutated)."""
    name = mutant.name if mutant else "unmutated"
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"dlp-mutant-{name}-"))
    start = time.monotonic()
    try:
        copy_repo(work)
        if mutant:
            mutant.apply(work)
        junit = work / "mutation-junit.xml"
        env = dict(os.environ, DLP_BUILD_DIR=str(work / "build"))
        env.pop("PYTHONPATH", None)   # the copy's sources, not this checkout's
        cmd = [sys.executable, "-m", "pytest", "-x", "-p", "no:cacheprovider", "-q", "-o", "addopts=-ra --strict-markers",
               f"--junitxml={junit}", *suite_args(suite, work)]
        if jobs > 1:
            cmd += ["-n", str(jobs)]
        log_path = log_dir / f"{name}.log"
        with open(log_path, "w") as log:
            log.write(f"$ cd {work} && {' '.join(cmd)}\n")
            log.flush()
            proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)   # the simulators pytest started too
                proc.wait()
                rc = None
        test, message = first_failure(junit)
        if rc is None:
            outcome = "timeout"
        elif rc == 0:
            outcome = "survived"
        elif rc in (1, 2):   # a failing test, or a collection error (make test fails too)
            outcome = "killed"
        else:
            outcome = f"error (pytest exit code {rc})"
        if rc == 2 and not test:
            message = "collection or import error (see the log)"
        failed_cocotb = cocotb_failures(log_path.read_text(errors="replace"))
        if failed_cocotb:   # the cocotb tests that failed say more than the runner's SystemExit
            message = f"cocotb: {', '.join(failed_cocotb[:3])}" + (f" (+{len(failed_cocotb) - 3})" if len(failed_cocotb) > 3 else "")
        return {"name": name, "file": mutant.path if mutant else "", "bug": mutant.bug if mutant else "",
                "outcome": outcome, "first_failure": test, "message": message, "cocotb_failures": failed_cocotb,
                "seconds": round(time.monotonic() - start, 1), "log": str(log_path)}
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def check_verilog(mutants) -> list[tuple[str, bool]]:
    """Whether each mutant changes the converted Verilog of the cocotb int16 config."""
    convert = ("import sys; from tests.cocotb.configs import P16_INT16; from rtl.convert import convert; "
               "convert(P16_INT16, sys.argv[1])")
    results = []
    with tempfile.TemporaryDirectory(prefix="dlp-mutant-verilog-") as tmp:
        work = pathlib.Path(tmp) / "repo"
        copy_repo(work)

        def verilog(out: str) -> str:
            subprocess.run([sys.executable, "-c", convert, str(work / out)], cwd=work, check=True,
                           capture_output=True)
            return (work / out / "dlp_sim.v").read_text()

        reference = verilog("v_ref")
        for m in mutants:
            original = (work / m.path).read_text()
            m.apply(work)
            try:
                results.append((m.name, verilog(f"v_{m.name}") != reference))
            finally:
                (work / m.path).write_text(original)
    return results


def repo_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=SUITES, default="full")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these mutants only")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--check-verilog", action="store_true",
                        help="whether each mutant changes the converted Verilog, then exit")
    parser.add_argument("--baseline", action="store_true", help="run the suite on the unmutated copy first")
    parser.add_argument("--timeout", type=float, default=40, help="minutes per mutant (default 40)")
    parser.add_argument("--jobs", type=int, default=1, help="pytest -n inside each run (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copies")
    parser.add_argument("--out", default=str(REPO / "build" / "mutation"), help="report folder")
    args = parser.parse_args(argv)

    by_name = {m.name: m for m in MUTANTS}
    unknown = [n for n in args.only or () if n not in by_name]
    if unknown:
        parser.error(f"unknown mutants {unknown}; --list shows them")
    mutants = [by_name[n] for n in args.only] if args.only else list(MUTANTS)
    if args.list:
        for m in mutants:
            print(f"{m.name:36s} {m.path:20s} {m.bug}")
        return 0
    if args.check_verilog:
        same = []
        for name, differs in check_verilog(mutants):
            print(f"{name:36s} {'Verilog differs' if differs else 'Verilog UNCHANGED (equivalent?)'}")
            if not differs:
                same.append(name)
        return 1 if same else 0

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    status_before = repo_status()
    began = time.monotonic()
    results = []

    def summary(complete: bool) -> dict:
        done = [r for r in results if r["name"] != "unmutated"]
        return {"suite": args.suite, "commit": commit, "complete": complete,
                "killed": sum(r["outcome"] == "killed" for r in done), "total": len(done),
                "timeouts": sum(r["outcome"] == "timeout" for r in done),
                "seconds": round(time.monotonic() - began, 1), "results": results}

    runs = ([None] if args.baseline else []) + mutants
    for m in runs:
        r = run_mutant(m, args.suite, args.timeout * 60, out, args.jobs, args.keep)
        results.append(r)
        print(f"{r['name']:36s} {r['outcome']:9s} {r['seconds']:7.0f} s  {r['first_failure']}  {r['message']}",
              flush=True)
        # written after every mutant, so that an interrupted run keeps what it measured
        (out / "report.json").write_text(json.dumps(summary(complete=False), indent=2))
    report = summary(complete=True)
    print()
    print("| mutant | file | outcome | first failing test | time (s) |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['name']} | {r['file']} | {r['outcome']} | {r['first_failure'] or '-'} | {r['seconds']:.0f} |")
    print()
    print(f"suite {args.suite}: mutation score {report['killed']}/{report['total']} killed"
          f" ({report['timeouts']} timed out), total {report['seconds'] / 60:.1f} min")
    if repo_status() != status_before:
        print("WARNING: the repository's git status changed during the run:\n" + repo_status())
    (out / "report.json").write_text(json.dumps(report, indent=2))
    print(f"report: {out / 'report.json'}")
    baseline = next((r for r in results if r["name"] == "unmutated"), None)
    if baseline and baseline["outcome"] != "survived":
        print("the unmutated copy does not pass the suite: the scores mean nothing")
        return 1
    return 0 if report["killed"] == report["total"] else 1


if __name__ == "__main__":
    sys.exit(main())
