"""Run every s2sgrad sample in order, each in its own process; exit non-zero if any fails (`make demo`)."""
import os
import subprocess
import sys
import time

SAMPLES = [
    "add_mul.py",
    "griewank.py",
    "ratio.py",
    "max_gate.py",
    "neuron_lists.py",
    "logistic_regression.py",
    "mlp.py",
    "rnn.py",
    "hvp.py",
    "model_class.py",
    # example programs in the style of autograd's (checked in tests/test_example_programs.py)
    "neural_net.py",
    "sequence_rnn.py",
    "lstm.py",
    "gaussian_process.py",
    "vae.py",
    "mixture_model.py",
    "bayesian_linear_regression.py",
    "fluid_sim.py",
    "gan.py",
]


def description(path):
    with open(path, encoding="utf-8") as fh:
        first = fh.readline().strip()
    return first.strip('"').lstrip("# ").strip()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    failed = []
    start = time.perf_counter()
    for name in SAMPLES:
        path = os.path.join(here, name)
        print("=" * 78)
        print(f"{name}: {description(path)}")
        print("=" * 78, flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, path], cwd=here, env=env,
                              capture_output=True, text=True, encoding="utf-8")
        sys.stdout.write(proc.stdout)
        sys.stdout.write(proc.stderr)
        # A sample fails if it crashes or prints a failed comparison.
        bad = proc.returncode != 0 or "✗" in proc.stdout
        if bad:
            failed.append(name)
        print(f"--- {name}: {'FAILED' if bad else 'ok'} ({time.perf_counter() - t0:.1f} s)\n",
              flush=True)
    total = time.perf_counter() - start
    if failed:
        print(f"{len(failed)} of {len(SAMPLES)} samples failed: {', '.join(failed)} ({total:.1f} s)")
        return 1
    print(f"all {len(SAMPLES)} samples ran ({total:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
