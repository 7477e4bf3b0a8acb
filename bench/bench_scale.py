"""End-to-end scale benchmark: kaudit against the time merely parsing its input takes.

For each size, the proportional cluster of bench_engine.py (namespaces of 50 pods,
a hostNetwork DaemonSet, five policies per namespace) is written once as a YAML
`kind: List` and once as JSON. Then, each in a fresh process:

- floor: parsing that file and nothing else with PyYAML's C loader
  (`yaml.load(text, Loader=yaml.CSafeLoader)`; JSON is YAML, so the JSON file too),
  timed inside the process; for the JSON file `json.loads` is shown beside it;
- audit: `kaudit audit --manifests FILE --format json` (every rule);
- grouped reach: `kaudit reach --manifests FILE --port 8081 --group class --format json`;
- one-pair reach: `kaudit reach --manifests FILE --from A --to B --port 8081`.

The kaudit commands are timed from the outside (wall clock, interpreter start and
imports included: what a user waits for; `kaudit --version` shows that fixed cost); each is printed next to the floor of
the same file as a ratio, with the peak RSS of its process. Goals (issue 11):
audit <= 1.5x, grouped reach <= 2x, one-pair reach <= 1.0x, peak RSS <= 1 GiB at 50k.
Then the engine alone (bench_engine.py, JSON input, full summary) at up to
200,000 pods, for the growth curve.

    python bench/bench_scale.py [--sizes 10000,50000] [--engine-sizes 10000,50000,200000]
    python bench/bench_scale.py --quick      # 2,000 pods, engine to 10,000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from bench_engine import cluster

HERE = Path(__file__).resolve().parent

YAML_FLOOR = "import yaml\nyaml.load(text, Loader=yaml.CSafeLoader)"
JSON_LOADS = "import json\njson.loads(text)"
# The parse floor in a child: read the file, then time only the parse.
FLOOR_CHILD = """
import sys, time
text = open(sys.argv[1], encoding="utf-8").read()
start = time.perf_counter()
exec(compile(sys.argv[2], "floor", "exec"))
print(time.perf_counter() - start)
"""


API_VERSIONS = {"Namespace": "v1", "Pod": "v1", "NetworkPolicy": "networking.k8s.io/v1"}


def write_inputs(pods: int, folder: Path) -> None:
    """The same cluster as one YAML List and one JSON List."""
    items = [{"apiVersion": API_VERSIONS[o["kind"]], **o} for o in cluster(pods, "proportional")]
    listing = {"apiVersion": "v1", "kind": "List", "items": items}
    (folder / f"cluster-{pods}.yaml").write_text(
        yaml.dump(listing, Dumper=yaml.CSafeDumper, sort_keys=False), encoding="utf-8"
    )
    (folder / f"cluster-{pods}.json").write_text(json.dumps(listing), encoding="utf-8")


def run(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of one fresh process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode()
        if child.returncode not in (0, 1, 4):  # 1 and 4: findings or missing kinds
            raise SystemExit(f"{' '.join(command)} failed:\n{err.read().decode()[-2000:]}")
    # ru_maxrss is in kilobytes on Linux.
    return elapsed, usage.ru_maxrss / 1024, stdout


def kaudit(*args: str) -> list[str]:
    return [sys.executable, "-m", "kaudit", *args]


def measure_size(pods: int, folder: Path) -> None:
    # Written by a child: a process started from this one begins with this one's peak
    # RSS (Linux keeps ru_maxrss across fork and exec), so this one stays small.
    subprocess.run([sys.executable, __file__, "--write", str(pods), str(folder)], check=True)
    paths = {
        "yaml": folder / f"cluster-{pods}.yaml",
        "json": folder / f"cluster-{pods}.json",
    }
    pair = ["--from", "team-0000/frontend-0-0", "--to", "team-0001/backend-4-0"]
    for fmt, path in paths.items():
        size_mib = path.stat().st_size / 2**20
        floors = {
            "parse floor": YAML_FLOOR,
            **({"json.loads": JSON_LOADS} if fmt == "json" else {}),
        }
        parse_s = 0.0
        for name, code in floors.items():
            _, floor_mib, printed = run([sys.executable, "-c", FLOOR_CHILD, str(path), code])
            seconds = float(printed)
            parse_s = parse_s or seconds
            print(
                f"{pods:>7} {fmt:<5}{size_mib:>8.1f} {name:<16}{seconds:>9.2f}"
                f"{seconds / parse_s:>7.2f}x{floor_mib:>10.0f}",
                flush=True,
            )
        commands = {
            "audit": kaudit("audit", "--manifests", str(path), "--format", "json"),
            "grouped reach": kaudit(
                "reach", "-f", str(path), "--port", "8081", "--group", "class", "--format", "json"
            ),
            "one-pair reach": kaudit("reach", "-f", str(path), *pair, "--port", "8081"),
        }
        for name, command in commands.items():
            seconds, peak_mib, _ = run(command)
            print(
                f"{pods:>7} {fmt:<5}{size_mib:>8.1f} {name:<16}{seconds:>9.2f}"
                f"{seconds / parse_s:>7.2f}x{peak_mib:>10.0f}",
                flush=True,
            )


def engine_curve(sizes: list[int]) -> None:
    print("\nengine alone (bench_engine.py, proportional series, JSON input)")
    print(
        f"{'pods':>7}{'classes':>9}{'parse s':>9}{'engine s':>10}{'per 1k pods':>13}{'peak MiB':>10}"
    )
    for size in sizes:
        out = subprocess.run(
            [sys.executable, str(HERE / "bench_engine.py"), "--one", f"proportional:{size}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out)
        print(
            f"{r['pods']:>7}{r['classes']:>9}{r['parse_s']:>9.2f}{r['engine_s']:>10.2f}"
            f"{r['engine_s'] / r['pods'] * 1000:>13.3f}{r['peak_mib']:>10.0f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--engine-sizes", default="10000,50000,200000")
    parser.add_argument("--quick", action="store_true", help="2,000 pods; engine to 10,000")
    parser.add_argument("--write", nargs=2, help=argparse.SUPPRESS)  # PODS FOLDER, in a child
    args = parser.parse_args()
    if args.write:
        write_inputs(int(args.write[0]), Path(args.write[1]))
        return
    sizes = [2000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    engine_sizes = (
        [2000, 10000] if args.quick else [int(s) for s in args.engine_sizes.split(",") if s]
    )
    print("kaudit commands: wall time of a fresh process; ratio: to the parse floor of that file")
    print(
        f"{'pods':>7} {'input':<5}{'MiB':>8} {'measure':<16}{'seconds':>9}{'ratio':>8}{'peak MiB':>10}"
    )
    startup_s, startup_mib, _ = run(kaudit("--version"))
    print(
        f"{'':>7} {'':<5}{'':>8} {'kaudit --version':<16}{startup_s:>9.2f}{'':>8}{startup_mib:>10.0f}"
    )
    with tempfile.TemporaryDirectory(prefix="kaudit-bench-") as folder:
        for pods in sizes:
            measure_size(pods, Path(folder))
    if engine_sizes:
        engine_curve(engine_sizes)


if __name__ == "__main__":
    main()
