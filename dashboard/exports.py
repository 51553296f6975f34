"""Download payloads: metrics CSV, summary CSV and the config JSON the CLI's --config accepts."""

from __future__ import annotations

import json

from models import Comparison, RunResult


def metrics_csv(result: RunResult) -> bytes:
    return result.metrics_frame().to_csv(index=False).encode("utf-8")


def summary_csv(result: RunResult) -> bytes:
    return result.summary_frame().to_csv(index=False).encode("utf-8")


def config_json(comparison: Comparison) -> bytes:
    return json.dumps(comparison.to_json_dict(), indent=2, ensure_ascii=False).encode("utf-8")
