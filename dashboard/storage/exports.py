"""Download payloads: metrics CSV, summary CSV and the config JSON the CLI's --config accepts.

Every CSV goes through ``safe_csv`` (formula cells neutralised: a spreadsheet cannot run them).
"""

from __future__ import annotations

import json

from models import Comparison, RunResult, safe_csv


def metrics_csv(result: RunResult) -> bytes:
    return safe_csv(result.metrics_frame()).encode("utf-8")


def summary_csv(result: RunResult) -> bytes:
    return safe_csv(result.summary_frame()).encode("utf-8")


def config_json(comparison: Comparison) -> bytes:
    return json.dumps(comparison.to_json_dict(), indent=2, ensure_ascii=False).encode("utf-8")
