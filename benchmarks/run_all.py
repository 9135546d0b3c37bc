"""Run every benchmark in turn (`make bench`): chainrule and PyTorch side by side, with ratios.

Timings are only meaningful on an otherwise idle machine; each script prints the
load average it saw.
"""
import os
import subprocess
import sys

SCRIPTS = ["bench_core.py", "bench_nn.py", "bench_optim.py", "bench_rnn.py", "bench_distributed.py"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    failed = []
    for script in SCRIPTS:
        print(f"\n===== {script} =====", flush=True)
        if subprocess.call([sys.executable, os.path.join(here, script)], cwd=here) != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
