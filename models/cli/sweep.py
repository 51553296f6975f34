"""``python -m models sweep``: train a sweep preset or file into DIR/sweep.csv and sweep.json."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..core.errors import ConfigError
from ..io.comparison_io import parse_set_args
from ..sweep.api import CSV_NAME, JSON_NAME, check_out_dir, run_sweep
from ..sweep.backends import BACKENDS, ray_available
from ..sweep.presets import load_sweep_preset
from ..sweep.spec import SweepSpec, load_sweep_file

USAGE_EXIT = 2
MAX_WORKERS = 256


def add_sweep_parser(sub) -> None:
    """The ``sweep`` subcommand's arguments."""
    sw = sub.add_parser(
        "sweep", help="train a comparison at every point of a grid; write sweep.csv, sweep.json"
    )
    src = sw.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="a sweep preset name (see 'presets --sweeps')")
    src.add_argument("--config", help="a TOML or JSON sweep file (a config with a [grid] table)")
    sw.add_argument("--out", required=True, help="output directory (rerun to resume)")
    sw.add_argument("--backend", default="local", help="local (default) or ray")
    sw.add_argument("--workers", help="stacks trained at once (threads, or Ray CPUs)")
    sw.add_argument("--ray-address", help="a Ray cluster's address (else RAY_ADDRESS, else local)")
    sw.add_argument("--steps", help="override steps for every variant")
    sw.add_argument("--seeds", help="override the number of seeds for every variant")
    sw.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field for every variant and point (repeatable)",
    )
    sw.add_argument("--quiet", action="store_true", help="no progress bar")


def _workers(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_WORKERS:
        raise ConfigError(
            f"--workers: got {text!r}; allowed: a whole number from 1 to {MAX_WORKERS}"
        )
    return n


def load_spec(args: argparse.Namespace) -> SweepSpec:
    """The validated sweep the arguments name (ConfigError with one message otherwise)."""
    overrides = parse_set_args(args.set)
    for key in ("steps", "seeds"):
        if getattr(args, key) is not None:
            overrides.update(parse_set_args([f"{key}={getattr(args, key)}"]))
    if args.preset is not None:
        return load_sweep_preset(args.preset, overrides)
    return load_sweep_file(args.config, overrides)


def sweep_main(args: argparse.Namespace, bar) -> int:
    """Validate everything (writing nothing on bad input: exit 2), then train and write."""
    try:
        if args.backend not in BACKENDS:
            raise ConfigError(f"--backend: got {args.backend!r}; allowed: {', '.join(BACKENDS)}")
        workers = _workers(args.workers)
        spec = load_spec(args)
        if args.backend == "ray" and not ray_available():
            raise ConfigError("--backend ray needs Ray: pip install -e '.[ray]'")
        out = Path(args.out)
        old = check_out_dir(spec, out)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return USAGE_EXIT
    t0 = time.perf_counter()
    try:
        result = run_sweep(
            spec,
            backend=args.backend,
            callback=bar,
            workers=workers,
            out_dir=out,
            ray_address=args.ray_address,
        )
    except KeyboardInterrupt:
        bar.close()
        print(
            f"interrupted: the finished points are in {out}/{CSV_NAME}; run the same command "
            "again to resume",
            file=sys.stderr,
        )
        return 130
    except ConfigError as e:  # e.g. a Ray cluster that cannot be reached
        bar.close()
        print(f"error: {e}", file=sys.stderr)
        return USAGE_EXIT
    bar.close()
    resumed = f", {result.resumed} resumed from an earlier run" if old and result.resumed else ""
    print(
        f"wrote {out}/{CSV_NAME} ({len(result.rows)} rows{resumed}) and {JSON_NAME} in "
        f"{time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )
    failed = sorted({f"{r['variant']}: {r['error']}" for r in result.rows if r.get("error")})
    for line in failed:
        print(f"warning: {line}", file=sys.stderr)
    return 0
