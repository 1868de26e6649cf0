"""The markdown table and the raw JSON of one benchmark run."""

import json
from pathlib import Path
from typing import Any

REFERENCE_NAMES = {"ceiling": "bare endpoint", "dmart": "Dmart", "durable_write": "disk's durable creates"}
DMART = "Dmart 1.6"


def _rps(row: dict[str, Any] | None) -> float | None:
    if row is None or "measure" not in row:
        return None
    return float(row["measure"]["rps"])


def ratios(row: dict[str, Any], rows: list[dict[str, Any]], references: dict[str, Any]) -> dict[str, float]:
    """The row's throughput divided by each reference measured in the same run."""
    mine = _rps(row)
    if mine is None:
        return {}
    found: dict[str, float] = {}
    if "ceiling" in row and row["ceiling"]["measure"]["rps"]:
        found["ceiling"] = mine / row["ceiling"]["measure"]["rps"]
    peer = next((r for r in rows if r["server"] == DMART and r["workload"] == row["workload"]), None)
    if row["server"] != DMART and _rps(peer):
        found["dmart"] = mine / (_rps(peer) or 1)
    for key in ("durable_write", "duckdb"):
        reference = references.get(key)
        if isinstance(reference, dict) and reference.get("rps"):
            found[key] = mine / reference["rps"]
    return found


def verdicts(targets: dict[str, float], found: dict[str, float]) -> str:
    parts = []
    for key, least in targets.items():
        if key not in found:
            continue
        name = REFERENCE_NAMES.get(key, key)
        if found[key] >= least:
            parts.append(f"{name} ≥ {least:.2g}x: met")
        else:
            parts.append(f"{name} ≥ {least:.2g}x: missed by {100 * (1 - found[key] / least):.0f}%")
    return "; ".join(parts)


def _cell(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def table(results: dict[str, Any]) -> str:
    rows, references = results["rows"], results["references"]
    head = (
        "| workload | server | req/s | p50 ms | p99 ms | peak RSS MiB | failed | bare req/s | vs bare | vs Dmart"
        " | vs other | targets |\n"
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n"
    )
    lines = []
    for row in rows:
        if "skipped" in row:
            lines.append(f"| {row['workload']} | {row['server']} | skipped: {row['skipped']} |||||||||")
            continue
        m = row["measure"]
        if not m["requests"]:
            lines.append(
                f"| {row['workload']} | {row['server']} | no request finished in {row['seconds']:g} s |||||||||"
            )
            continue
        found = ratios(row, rows, references)
        targets = results["workloads"][row["workload"]]["targets"]
        other = next((f"{found[k]:.2f} ({k})" for k in ("duckdb", "durable_write") if k in found and k in targets), "")
        ceiling = row.get("ceiling", {}).get("measure", {}).get("rps")
        targets = targets if row["server"] != DMART else {}
        lines.append(
            f"| {row['workload']} | {row['server']} | {_cell(m['rps'])} | {_cell(m['p50_ms'])} | {_cell(m['p99_ms'])}"
            f" | {_cell(m['peak_rss_mib'], 0)} | {m['errors']} | {_cell(ceiling)} | {_cell(found.get('ceiling'), 2)}"
            f" | {_cell(found.get('dmart'), 2)} | {other} | {verdicts(targets, found)} |"
        )
    return head + "\n".join(lines) + "\n"


def reference_table(references: dict[str, Any]) -> str:
    lines = ["| reference (in-process, same run) | per second | p50 ms | p99 ms |", "|---|--:|--:|--:|"]
    for key, value in references.items():
        if not isinstance(value, dict):
            lines.append(f"| {key} | {value} | | |")
            continue
        rate = f"{value['rps']:,.1f}" + (f" ({value['mib_per_s']:,.0f} MiB/s)" if "mib_per_s" in value else "")
        label = key + (f" ({value['threads']} threads)" if "threads" in value else "")
        lines.append(f"| {label} | {rate} | {value['p50_ms']:.2f} | {value['p99_ms']:.2f} |")
    return "\n".join(lines) + "\n"


def memory_note(rows: list[dict[str, Any]]) -> str:
    """Whether memory stays flat from the 1 MiB file to the big one (peak above idle)."""
    notes = []
    for server in dict.fromkeys(row["server"] for row in rows):
        for kind in ("upload", "download"):
            small = next((r for r in rows if r["server"] == server and r["workload"] == f"{kind}_1mib"), {})
            big = next((r for r in rows if r["server"] == server and r["workload"] == f"{kind}_big"), {})
            if "measure" in small and "measure" in big:
                grow = [r["measure"]["peak_rss_mib"] - r["measure"]["idle_rss_mib"] for r in (small, big)]
                notes.append(
                    f"- {server}, {kind}: peak above idle {grow[0]:.0f} MiB (1 MiB) vs {grow[1]:.0f} MiB (big)"
                )
    return "\n".join(notes) + "\n" if notes else ""


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    args = results["arguments"]
    return (
        f"Measured {results['date']} on {machine['cpus']} CPUs, {machine['memory_gib']} GiB RAM,"
        f" {machine['system']}, Python {machine['python']}, {machine['wrk']};"
        f" `{results['command']}` ({args['seconds']} s a run, up to {args['connections']} connections,"
        f" {args['entries']} entries, {args['rows']} CSV rows, big file {args['big_mib']} MiB).\n\n"
        + table(results)
        + "\n"
        + reference_table(results["references"])
        + ("\nMemory with the file size:\n\n" + memory_note(results["rows"]) if memory_note(results["rows"]) else "")
    )


def write(results: dict[str, Any], folder: Path) -> None:
    (folder / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (folder / "results.md").write_text("# Benchmark results\n\n" + markdown(results))
