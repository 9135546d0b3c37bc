"""Run every benchmark in turn (`make bench`), then print one summary table of issue 16's rows.

Each script runs in its own process and prints its full output as it goes; run_all.py
keeps that output and reads each row's figure from it: first the machine-readable
``ROW <key> <threads> <ratio> <floor> <note>`` lines (benchmarks/common.py:
``print_row``), then, for scripts that print only their human-readable table, the
patterns in ``FALLBACKS``. The summary gives each row its goal, the measured ratio
chainrule / PyTorch on 1 thread and on 2 (where the script ran it), the floor (what the
machine allows: e.g. the BLAS products alone, against PyTorch's whole convolution) and
whether the goal is met. A row no script reported says so.

Timings are only meaningful on an otherwise idle machine; the load average at the start
and at the end is printed with the table.

    .venv/bin/python benchmarks/run_all.py                   # everything (several minutes)
    .venv/bin/python benchmarks/run_all.py bench_import.py bench_optim.py
"""
import os
import re
import subprocess
import sys

SCRIPTS = ["bench_import.py", "bench_core.py", "bench_nn.py", "bench_optim.py", "bench_rnn.py", "bench_peers.py",
           "bench_train.py", "bench_distributed.py"]

# key: (the row of issue 16's table, goal, unit of the figure)
ROWS = {
    "conv2d": ("Conv2d 128×32×14×14 → 64, 3×3, pad 1, fwd+bwd", 1.0, "ratio"),
    "small_cnn_step": ("small CNN training step (2 conv blocks, batch 128, Adam)", 0.9, "ratio"),
    "adam_step": ("Adam step, 670k float32 params in 6 tensors vs torch.optim.Adam()", 0.5, "ratio"),
    "mlp_step": ("MLP 784-512-512-10, batch 128, training step with Adam", 0.8, "ratio"),
    "lstm": ("LSTM batch 64, 50 steps, 256 units, fwd+bwd", 0.9, "ratio"),
    "per_op_chain": ("per-op overhead, 4×4, chain of 100 ops + backward", 1.0, "ratio"),
    "import": ("`import chainrule` wall, fresh process (seconds)", 0.5, "s"),
    "main_job": ("`chainrule train` defaults vs the same job in PyTorch, wall", 1.0, "ratio"),
    "memory": ("peak memory of a CNN training step vs PyTorch's", 1.0, "ratio"),
}

ROW_LINE = re.compile(r"^ROW (\S+) (\d+) (\S+) (\S+) ?(.*)$")
_THREAD_LINE = r"^\s+(\d) threads?\s*: chainrule .*?ratio chainrule/torch = ([\d.]+)"
# Patterns for scripts that print no ROW line for a row: (script, key, section heading, line pattern,
# floor pattern). In the SECTION_LINES lines after the heading, each match of the line pattern gives
# (threads, ratio) (threads from the heading if the line has none); a floor match within FLOOR_LINES lines after it, the floor.
SECTION_LINES = 8
FLOOR_LINES = 4      # a floor line follows its row within this many lines
FALLBACKS = [
    ("bench_nn.py", "conv2d", r"^Conv2d", _THREAD_LINE,
     r"Winograd's three batched GEMMs alone .*ratio GEMMs/torch's whole conv = ([\d.]+)"),
    ("bench_nn.py", "small_cnn_step", r"^Small CNN", _THREAD_LINE, None),
    ("bench_nn.py", "memory", r"^Small CNN", r"peak RSS growth, batch \d+, code loaded: .*ratio chainrule/torch = ([\d.]+)",
     None),
]


def run_script(path, environment):
    """Run one script, echoing its output line by line; return (exit code, the output's lines)."""
    process = subprocess.Popen([sys.executable, path], cwd=os.path.dirname(path), env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line.rstrip("\n"))
    return process.wait(), lines


def collect(script, lines, found):
    """Add the rows ``lines`` report to ``found`` ({key: {threads: (ratio, floor, note, script)}})."""
    for line in lines:
        match = ROW_LINE.match(line)
        if match:
            key, threads, ratio, floor, note = match.groups()
            found.setdefault(key, {}).setdefault(int(threads), (float(ratio), None if floor == "-" else float(floor),
                                                                note, script))
    for fallback_script, key, heading, pattern, floor_pattern in FALLBACKS:
        if fallback_script != script or key in found:
            continue
        for index, line in enumerate(lines):
            start = re.match(heading, line)
            if not start:
                continue
            section_threads = int(start.group(1)) if start.groups() else 1
            for offset, row_line in enumerate(lines[index + 1:index + 1 + SECTION_LINES], start=index + 1):
                match = re.search(pattern, row_line)
                if not match:
                    continue
                groups = match.groups()
                threads, ratio = (int(groups[0]), float(groups[1])) if len(groups) == 2 else (section_threads,
                                                                                            float(groups[0]))
                floor = None
                for floor_line in (lines[offset + 1:offset + 1 + FLOOR_LINES] if floor_pattern else []):
                    floor_match = re.search(floor_pattern, floor_line)
                    if floor_match:
                        floor = float(floor_match.group(1))
                        break
                found.setdefault(key, {}).setdefault(threads, (ratio, floor, "", script))


def summary_table(found):
    lines = [f"{'row':66s} {'goal':>6s} {'1 thread':>9s} {'2 threads':>10s} {'floor':>6s}  met"]
    for key, (title, goal, unit) in ROWS.items():
        measured = found.get(key, {})
        one, two = measured.get(1), measured.get(2)
        cells = [f"{value[0]:.2f}" if value else "-" for value in (one, two)]
        floors = [value[1] for value in (one, two) if value and value[1] is not None]
        floor = f"{floors[0]:.2f}" if floors else "-"
        if not measured:
            verdict = "not measured"
        else:
            verdict = "yes" if min(value[0] for value in measured.values()) <= goal else "no"
            if one and two and (one[0] <= goal) != (two[0] <= goal):
                verdict = f"{'1' if one[0] <= goal else '2'} thread{'' if one[0] <= goal else 's'} only"
        goal_text = f"≤{goal:g}{' s' if unit == 's' else ''}"
        lines.append(f"{title:66s} {goal_text:>6s} {cells[0]:>9s} {cells[1]:>10s} {floor:>6s}  {verdict}")
        notes = "; ".join(f"{threads} thread{'s' if threads > 1 else ''}: {value[2]}" for threads, value in
                          sorted(measured.items()) if value[2])
        if notes:
            lines.append(f"    ({notes})")
    return "\n".join(lines)


def main(arguments):
    here = os.path.dirname(os.path.abspath(__file__))
    environment = dict(os.environ, NUMBA_THREADING_LAYER=os.environ.get("NUMBA_THREADING_LAYER", "workqueue"))
    scripts = arguments or SCRIPTS
    load_before = os.getloadavg()[0]
    failed, found = [], {}
    for script in scripts:
        print(f"\n===== {script} =====", flush=True)
        code, lines = run_script(os.path.join(here, script), environment)
        if code != 0:
            failed.append(script)
        collect(script, lines, found)
    print(f"\n===== summary: issue 16's rows, chainrule / PyTorch (below 1: chainrule is faster) =====")
    print(f"load average {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
          f"({os.cpu_count()} cores)")
    print(summary_table(found))
    if max(load_before, os.getloadavg()[0]) >= 1:
        print("(load average >= 1: other work shared the cores, so the 2-thread figures measure the neighbours too; "
              "trust the 1-thread column)")
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
