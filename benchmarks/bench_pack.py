"""The lecture pack of a model: wall time, files and megabytes, with the machine's load.

    python benchmarks/bench_pack.py                                  # the small CNN (sample 12)
    python benchmarks/bench_pack.py --repeats 3 --formats png,tex,gif,beamer,pptx,mp4,apng
    python benchmarks/bench_pack.py sample_models/02-seed-2d-conv.json --profile

Each repeat writes the full pack (every layer, pass and step; the default formats unless
--formats says otherwise) into a fresh temporary folder, in this process, after one
untimed warm-up pack (fonts, Qt's offscreen platform). Prints the median and the best
wall time, the process's CPU time (all its threads; on a loaded machine the wall time
waits for a core, the CPU time much less), the files and the size per format, and the
load average before and after.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "model", nargs="?", default=str(ROOT / "sample_models" / "12-small-cnn-cross-entropy.json")
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", default="png,tex,gif,beamer")
    parser.add_argument("--scale", type=float, default=None, help="image scale (default: the pack's, 0.75)")
    parser.add_argument("--profile", action="store_true", help="profile one pack (cumulative time)")
    args = parser.parse_args()

    from visualconv.export.pack import PACK_SCALE, export_pack
    from visualconv.export.render import ensure_gui
    from visualconv.modelfile import load_model

    ensure_gui()
    if args.scale is None:
        args.scale = PACK_SCALE
    model = load_model(args.model)
    formats = [f for f in args.formats.split(",") if f]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        export_pack(model, Path(tmp) / "warm-up", formats=formats, scale=args.scale)
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            export_pack(model, Path(tmp) / "profile", formats=formats, scale=args.scale)
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
            return 0
        times = []
        cpu = []
        written: list[Path] = []
        for r in range(args.repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            written = export_pack(model, Path(tmp) / f"pack-{r}", formats=formats, scale=args.scale)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        sizes: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        for path in written:
            kind = path.suffix.lstrip(".")
            if path.name.endswith("-beamer.tex"):
                kind = "beamer"
            sizes[kind] += path.stat().st_size
            counts[kind] += 1
        total = sum(sizes.values())
    load_after = os.getloadavg()
    print(f"model: {model.name} ({Path(args.model).name}); formats {','.join(formats)}; scale {args.scale}")
    print(f"pack: median {statistics.median(times):.2f} s, best {min(times):.2f} s over {len(times)} repeats")
    print(f"CPU time of the process (all threads): median {statistics.median(cpu):.2f} s")
    print(f"files: {len(written)}, {total / 1e6:.2f} MB")
    for kind in sorted(sizes, key=lambda k: -sizes[k]):
        print(f"  {kind:7s} {counts[kind]:4d} files  {sizes[kind] / 1e6:7.2f} MB")
    print(
        "load average (1, 5, 15 min) before "
        + ", ".join(f"{v:.2f}" for v in load_before)
        + "; after "
        + ", ".join(f"{v:.2f}" for v in load_after)
        + f"; {os.cpu_count()} cores"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
