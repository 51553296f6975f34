"""Headless command line: ``python -m models presets``, ``run ...`` and ``sweep ...``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..core.budget import check_budget
from ..core.errors import ConfigError
from ..core.runner import Progress, run_comparison
from ..core.tabular import resolve_tables
from ..io.comparison_io import load_comparison_file, parse_set_args
from ..io.presets import PRESETS, load_preset
from ..sweep.presets import SWEEP_PRESETS
from .sweep import add_sweep_parser, sweep_main

USAGE_EXIT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line and exit 2, never a traceback
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(USAGE_EXIT)


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    p = _Parser(prog="python -m models", description="Gradient Flow Lab, headless.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    presets = sub.add_parser("presets", help="list the named comparisons, one per line")
    presets.add_argument("--sweeps", action="store_true", help="list the named sweeps instead")
    run = sub.add_parser(
        "run", help="train a comparison and write metrics.csv, summary.csv, config.json"
    )
    src = run.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="a preset name (see 'presets')")
    src.add_argument("--config", help="a TOML or JSON config file")
    run.add_argument("--steps", help="override steps for every variant (0 = step 0 only)")
    run.add_argument("--seeds", help="override the number of seeds for every variant")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field for every variant (repeatable)",
    )
    run.add_argument("--out", required=True, help="output directory")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    add_sweep_parser(sub)
    return p


class ProgressBar:
    """A one-line progress bar on stderr, shown once a run lasts longer than a moment."""

    def __init__(self, enabled: bool = True, delay_s: float = 0.5):
        self.enabled, self.delay_s, self.shown, self.last = enabled, delay_s, False, 0.0

    def __call__(self, p: Progress) -> None:
        if not self.enabled or p.elapsed_s < self.delay_s or p.elapsed_s - self.last < 0.2:
            return
        self.last, self.shown = p.elapsed_s, True
        n = int(30 * p.fraction)
        eta = f"{p.eta_s:5.1f}s left" if p.eta_s == p.eta_s else ""
        sys.stderr.write(f"\r[{'#' * n}{'.' * (30 - n)}] {100 * p.fraction:5.1f}%  {eta}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "presets":
        table = SWEEP_PRESETS if args.sweeps else PRESETS
        for name, spec in table.items():
            print(f"{name}\t{spec['title']}")
        return 0
    if args.command == "sweep":
        return sweep_main(args, ProgressBar(enabled=not args.quiet))
    try:
        overrides = parse_set_args(args.set)
        for key in ("steps", "seeds"):
            if getattr(args, key) is not None:
                overrides.update(parse_set_args([f"{key}={getattr(args, key)}"]))
        if args.preset is not None:
            comparison = load_preset(args.preset, overrides)
        else:
            comparison = load_comparison_file(args.config, overrides)
            if comparison.watched is not None:
                raise ConfigError(
                    f"--config: '{args.config}' records a run of your own training loop "
                    "(watch()); the lab cannot train it again"
                )
        # task=csv: read and check every file now (exit 2 on a bad one, nothing written) and
        # record its absolute path and SHA-256 in config.json, so a rerun notices changed data
        for cfg in comparison.variants:
            if cfg.task == "csv":
                cfg.data = str(Path(cfg.data).expanduser().resolve())
        tables = resolve_tables(comparison)
        check_budget(comparison)  # capped only when GFL_MAX_GFLOP / GFL_MAX_MB are set
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out: '{out}' exists and is not a directory")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return USAGE_EXIT
    for (sha, _target), table in tables.items():
        if not args.quiet:
            counts = ", ".join(f"{c}: {n}" for c, n in list(table.class_counts().items())[:8])
            print(
                f"data: {table.name}: {table.describe()} (target '{table.target}'; {counts}); "
                f"SHA-256 {sha[:12]}…",
                file=sys.stderr,
            )
    bar = ProgressBar(enabled=not args.quiet)
    t0 = time.perf_counter()
    try:
        result = run_comparison(comparison, callback=bar, tables=tables)
    except KeyboardInterrupt:
        bar.close()
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    bar.close()
    result.write(out)
    diverged = [r["variant"] for r in result.summary if r["diverged_step"] is not None]
    failed = [f"{r['variant']}: {r['error']}" for r in result.summary if r["error"]]
    print(
        f"wrote {out}/metrics.csv, summary.csv, config.json in {time.perf_counter() - t0:.1f}s"
        + (f"; diverged: {', '.join(sorted(set(diverged)))}" if diverged else ""),
        file=sys.stderr,
    )
    for line in sorted(set(failed)):
        print(f"warning: {line}", file=sys.stderr)
    return 0
