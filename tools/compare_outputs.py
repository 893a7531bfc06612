"""Before/after check of what users see: the command line's bytes on every sample model.

::

    python tools/compare_outputs.py record DIR     # run every case, keep the outputs in DIR
    python tools/compare_outputs.py compare DIR    # run the same cases again, diff byte for byte

The cases: for every file of ``sample_models/`` ``grad --json`` and ``grad``, ``steps`` of
every layer and both passes, ``check``, ``train --json --epochs 2`` (files with a training
section), the SVG, LaTeX and JSON exports of steps 0, 1 and the last of every layer and
pass, a few usage errors and the help texts; for each its stdout, stderr, exit status and
the files it wrote. ``record`` also copies the sample models into ``DIR/inputs`` and writes
``DIR/manifest.json``; ``compare`` re-runs exactly the recorded cases on those inputs, so a
later change to ``sample_models/`` does not move the baseline.

The command under test is ``python -m visualconv`` of this interpreter, so ``PYTHONPATH``
chooses the checkout. This script imports nothing of visualconv and no Qt.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXPORT_FORMATS = ("svg", "tex", "json")
TIMEOUT = 600.0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["COLUMNS"] = "80"  # argparse wraps help text to the terminal width
    env["LC_ALL"] = "C.UTF-8"
    env["PYTHONHASHSEED"] = "0"
    env.pop("VISUALCONV_SYSTEM_MALLOC", None)
    return env


def _run(argv: list[str], cwd: Path, outdir: Path) -> dict[str, Any]:
    """Run ``python -m visualconv ARGV`` in ``cwd``; keep stdout, stderr, status and files in ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    work = cwd / "out"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "visualconv", *argv],
            cwd=cwd,
            env=_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired:
        stdout, stderr, code = b"", b"timed out\n", -9999
    (outdir / "stdout").write_bytes(stdout)
    (outdir / "stderr").write_bytes(stderr)
    (outdir / "rc").write_text(f"{code}\n")
    files = outdir / "files"
    shutil.rmtree(files, ignore_errors=True)
    if any(work.iterdir()):
        shutil.copytree(work, files)
    shutil.rmtree(work, ignore_errors=True)
    return {"stdout": stdout, "rc": code}


def _case_id(argv: list[str]) -> str:
    text = "_".join(a.replace("sample_models/", "").replace(".json", "") for a in argv)
    return re.sub(r"[^A-Za-z0-9.=_-]+", "-", text).strip("-")


class Runner:
    """Runs cases in a scratch folder per worker thread, each with the inputs beside it."""

    def __init__(self, inputs: Path, results: Path, jobs: int) -> None:
        self.inputs = inputs
        self.results = results
        self.jobs = jobs
        self._scratch = Path(tempfile.mkdtemp(prefix="visualconv-compare-"))

    def _cwd(self) -> Path:
        import threading

        cwd = self._scratch / f"w{threading.get_ident()}"
        if not cwd.exists():
            cwd.mkdir()
            shutil.copytree(self.inputs, cwd / "sample_models")
        return cwd

    def run(self, argv: list[str]) -> dict[str, Any]:
        """Run one case; its outputs go to the case's folder of results."""
        return _run(argv, self._cwd(), self.results / _case_id(argv))

    def run_all(self, cases: list[list[str]]) -> list[dict[str, Any]]:
        """Run the cases on ``jobs`` threads, in order of the results."""
        with concurrent.futures.ThreadPoolExecutor(self.jobs) as pool:
            return list(pool.map(self.run, cases))

    def close(self) -> None:
        """Remove the scratch folders."""
        shutil.rmtree(self._scratch, ignore_errors=True)


def _overlays(stdout: bytes) -> int | None:
    first = stdout.split(b"\n", 1)[0].decode("utf-8", "replace")
    match = re.search(r"pass, (\d+) overlays$", first)
    return int(match.group(1)) if match else None


def _discover(runner: Runner, names: list[str]) -> list[list[str]]:
    """Every case, in a fixed order (layer and step counts come from running ``steps``)."""
    cases: list[list[str]] = [
        ["--help"],
        ["--version"],
        *[[command, "--help"] for command in ("grad", "check", "steps", "train", "export")],
        ["grad"],
        ["grad", "sample_models/missing.json"],
        ["nosuchcommand", "x.json"],
        ["grad", "--json", "--nosuchoption", "sample_models/01-seed-1d-conv.json"],
        ["steps", "sample_models/01-seed-1d-conv.json", "--layer", "7"],
        ["steps", "sample_models/01-seed-1d-conv.json", "--step", "99"],
        ["export", "sample_models/01-seed-1d-conv.json"],
        ["export", "sample_models/01-seed-1d-conv.json", "--out", "out/x.svg", "--scale", "0"],
        ["train", "sample_models/01-seed-1d-conv.json", "--json"],
        ["train", "sample_models/20-learning-a-kernel.json", "--epochs", "0"],
    ]
    steps_cases: list[tuple[str, int, str]] = []
    for name in names:
        file = f"sample_models/{name}"
        document = json.loads((runner.inputs / name).read_text(encoding="utf-8"))
        cases += [["grad", file, "--json"], ["grad", file], ["check", file]]
        if "training" in document:
            cases += [["train", file, "--json", "--epochs", "2"], ["train", file, "--epochs", "2"]]
        for layer in range(len(document.get("layers", []))):
            for pass_name in ("forward", "backward"):
                steps_cases.append((file, layer, pass_name))
    steps_argv = [["steps", f, "--layer", str(layer), "--pass", p] for f, layer, p in steps_cases]
    counts = [_overlays(r["stdout"]) if r["rc"] == 0 else None for r in runner.run_all(steps_argv)]
    cases += steps_argv
    for (file, layer, pass_name), n in zip(steps_cases, counts, strict=True):
        steps: list[str | None] = [None] if n is None else [*sorted({"0", str(min(1, n))}), None]
        for step in steps:
            for ext in EXPORT_FORMATS:
                if n is None and ext != "svg":
                    continue
                stem = f"{Path(file).stem}-L{layer}-{pass_name}-{'last' if step is None else step}"
                argv = ["export", file, "--layer", str(layer), "--pass", pass_name]
                argv += [] if step is None else ["--step", step]
                cases.append([*argv, "--out", f"out/{stem}.{ext}"])
    return cases


def record(directory: Path, samples: Path, jobs: int) -> int:
    """Run every case and keep its outputs in ``directory``."""
    if directory.exists() and any(directory.iterdir()):
        print(f"{directory} is not empty; choose a new folder", file=sys.stderr)
        return 2
    inputs = directory / "inputs"
    names = sorted(p.name for p in samples.glob("*.json"))
    inputs.mkdir(parents=True)
    for name in names:
        shutil.copy2(samples / name, inputs / name)
    runner = Runner(inputs, directory / "results", jobs)
    try:
        cases = _discover(runner, names)
        runner.run_all([c for c in cases if not (runner.results / _case_id(c)).exists()])
    finally:
        runner.close()
    (directory / "manifest.json").write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    print(f"recorded {len(cases)} cases on {len(names)} sample models in {directory}")
    return 0


def _tree(path: Path) -> dict[str, bytes]:
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _first_difference(a: bytes, b: bytes) -> str:
    lines_a, lines_b = a.split(b"\n"), b.split(b"\n")
    for i, (x, y) in enumerate(zip(lines_a, lines_b, strict=False)):
        if x != y:
            return f"line {i + 1}: {x[:150]!r} -> {y[:150]!r}"
    return f"length {len(lines_a)} -> {len(lines_b)} lines"


def compare(directory: Path, jobs: int, keep: Path | None) -> int:
    """Re-run the recorded cases and diff them byte for byte; 0 when all are identical."""
    manifest = json.loads((directory / "manifest.json").read_text())
    cases: list[list[str]] = manifest["cases"]
    fresh = keep or Path(tempfile.mkdtemp(prefix="visualconv-compare-now-"))
    runner = Runner(directory / "inputs", fresh, jobs)
    try:
        runner.run_all(cases)
    finally:
        runner.close()
    differing: list[str] = []
    for argv in cases:
        case = _case_id(argv)
        old, new = directory / "results" / case, fresh / case
        notes = []
        for part in ("rc", "stdout", "stderr"):
            a, b = (old / part).read_bytes(), (new / part).read_bytes()
            if a != b:
                notes.append(f"{part} differs ({_first_difference(a, b)})")
        old_files, new_files = _tree(old / "files"), _tree(new / "files")
        for name in sorted(set(old_files) | set(new_files)):
            if name not in new_files:
                notes.append(f"file {name} no longer written")
            elif name not in old_files:
                notes.append(f"file {name} newly written")
            elif old_files[name] != new_files[name]:
                notes.append(f"file {name} differs ({_first_difference(old_files[name], new_files[name])})")
        if notes:
            differing.append(case)
            print(f"DIFF visualconv {' '.join(argv)}")
            for note in notes:
                print(f"    {note}")
    if keep is None:
        shutil.rmtree(fresh, ignore_errors=True)
    same = len(cases) - len(differing)
    print(f"{same} of {len(cases)} cases identical, {len(differing)} differ (baseline {directory})")
    return 0 if not differing else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``record DIR`` or ``compare DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("record", help="run every case and keep the outputs in DIR")
    p.add_argument("dir", type=Path)
    p.add_argument("--samples", type=Path, default=ROOT / "sample_models", help="folder of model files")
    p.add_argument("--jobs", type=int, default=2)
    p = sub.add_parser("compare", help="run the recorded cases again and diff byte for byte")
    p.add_argument("dir", type=Path)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--keep", type=Path, default=None, help="keep the fresh outputs in this folder")
    args = parser.parse_args(argv)
    if args.action == "record":
        return record(args.dir.resolve(), args.samples.resolve(), args.jobs)
    return compare(args.dir.resolve(), args.jobs, args.keep.resolve() if args.keep else None)


if __name__ == "__main__":
    raise SystemExit(main())
