"""Render docs/benchmarks.md, and its charts, from the JSON figures `scripts/bench` gathered.

    python scripts/bench_report.py RESULTS_DIR [DOCS_DIR]

Each benchmark under tests/benchmarks/ writes one JSON file to RESULTS_DIR; this reads
them all, compares the figures with the targets of the project's performance issue,
and writes DOCS_DIR/benchmarks.md with edge-latency.png and requests.png beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime
import json
import os
from pathlib import Path
import statistics
import sys
from typing import Any

COMMAND = "scripts/bench"
REQUEST_KINDS = ["login", "device", "status", "prices", "schedule", "state sends", "other"]
SCENARIOS = {
    "one-steady": "1 device, steady day",
    "one-hourly-change": "1 device, schedule changes hourly",
    "fifty-steady": "50 devices at one location, steady day",
}

type Result = dict[str, Any]


def read(folder: Path) -> dict[str, Result]:
    """Read every result, by name."""
    results: dict[str, Result] = {}
    for path in sorted(folder.glob("*.json")):
        document = json.loads(path.read_text())
        # Written when the benchmark ended: the files' times are real, the
        # benchmarks' clocks may have been frozen.
        document["written"] = path.stat().st_mtime
        results[document["name"]] = document
    return results


def number(value: float | None, digits: int = 1) -> str:
    """Format a figure for a table, or n/a."""
    return "n/a" if value is None else f"{value:,.{digits}f}"


def verdict(ok: bool | None) -> str:
    """Met, not met, or n/a."""
    return "n/a" if ok is None else ("met" if ok else "**not met**")


def loads(result: Result) -> str:
    """Show the 1-minute load average before and after a measurement."""
    before = result.get("load_before") or []
    after = result.get("load_after") or []
    first = f"{before[0]:.2f}" if before else "?"
    last = f"{after[0]:.2f}" if after else "?"
    return f"{first} → {last}"


def chart_edges(results: dict[str, Result], out: Path) -> bool:
    """Box plots of edge latency, integration with 1 and 50 devices and the template."""
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    series: list[tuple[str, list[float]]] = []
    for entries in (1, 50):
        result = results.get(f"edges_{entries}")
        if result:
            series.append(
                (
                    f"integration\n{entries} device{'' if entries == 1 else 's'}",
                    result["integration_samples"],
                )
            )
    template = [
        value
        for entries in (1, 50)
        for value in results.get(f"edges_{entries}", {}).get("template_samples", [])
    ]
    shown = sum(results.get(f"edges_{e}", {}).get("template_shown", 0) for e in (1, 50))
    edges = sum(results.get(f"edges_{e}", {}).get("edges", 0) for e in (1, 50))
    if template:
        series.append((f"template now()\n({shown} of {edges} edges shown)", template))
    if not series:
        return False
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.boxplot(
        [[max(v, 0.01) for v in values] for _, values in series],
        whis=(1, 99),
        showfliers=True,
        flierprops={"markersize": 2},
    )
    axes.set_xticks(range(1, len(series) + 1), [label for label, _ in series])
    axes.set_yscale("log")
    axes.axhline(10, color="tab:red", linestyle="--", linewidth=1)
    axes.text(0.55, 11, "target: p99 ≤ 10 ms", color="tab:red", fontsize=8)
    axes.set_ylabel("edge → state change (ms, log scale)")
    axes.set_title("Window edge to state change (whiskers: p1 to p99)")
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return True


def chart_requests(results: dict[str, Result], out: Path) -> bool:
    """Stacked bars: requests per device per day, by kind, for each simulated day."""
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    days = [(label, results.get(f"requests_{key}")) for key, label in SCENARIOS.items()]
    present = [(label, result) for label, result in days if result]
    if not present:
        return False
    figure, axes = plt.subplots(figsize=(7, 4))
    bottoms = [0.0] * len(present)
    labels = [label.replace(", ", ",\n") for label, _ in present]
    for kind in REQUEST_KINDS:
        values = [result["per_device_per_day"].get(kind, 0.0) for _, result in present]
        if not any(values):
            continue
        axes.bar(labels, values, bottom=bottoms, label=kind)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    for x, total in enumerate(bottoms):
        axes.text(x, total + 1, f"{total:.1f}", ha="center", fontsize=9)
    axes.axhline(80, color="tab:red", linestyle="--", linewidth=1)
    axes.text(
        len(present) - 0.5,
        82,
        "target: ≤ 80 on a steady day",
        color="tab:red",
        fontsize=8,
        ha="right",
    )
    axes.set_ylabel("requests per device per day")
    axes.set_title("Requests to Flatpeak per device per simulated day")
    axes.legend(fontsize=8, loc="upper right")
    axes.set_ylim(0, max(*bottoms, 80) * 1.25)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return True


def targets(results: dict[str, Result]) -> list[str]:
    """Build the table of targets: each with what was measured and whether it was met."""
    edges1 = results.get("edges_1", {}).get("integration_ms", {})
    edges50 = results.get("edges_50", {}).get("integration_ms", {})
    setup1 = results.get("setup_1", {})
    setup50 = results.get("setup_50", {})
    cpu = results.get("cpu", {})
    loop = results.get("loop", {})
    steady = results.get("requests_one-steady", {})
    fifty = results.get("requests_fifty-steady", {})

    def row(target: str, measured: str, ok: bool | None) -> str:
        return f"| {target} | {measured} | {verdict(ok)} |"

    p99_1 = edges1.get("p99")
    p99 = edges50.get("p99")
    touched = results.get("edges_50", {}).get("edges_with_gc")
    update = cpu.get("update_ms", {}).get("p50")
    steady_total = steady.get("total_per_device_per_day")
    fifty_total = fifty.get("total_per_device_per_day")
    return [
        "| Target | Measured | |",
        "|---|---|---|",
        row(
            "Edge → state change p99 ≤ 10 ms with 1 device",
            f"{number(p99_1, 2)} ms (load {loads(results['edges_1'])})" if p99_1 else "n/a",
            None if p99_1 is None else p99_1 <= 10,
        ),
        row(
            "Edge → state change p99 ≤ 100 ms with 50 devices on the same windows",
            (
                f"{number(p99, 2)} ms (load {loads(results['edges_50'])}; a garbage"
                f" collection fell in {touched} of {results['edges_50']['edges']} edges,"
                " counted as it fell)"
            )
            if p99
            else "n/a",
            None if p99 is None else p99 <= 100,
        ),
        row(
            "Setup of an account with 1 device ≤ 200 ms",
            f"{number(setup1.get('wall_ms'), 0)} ms" if setup1 else "n/a",
            None if not setup1 else setup1["wall_ms"] <= 200,
        ),
        row(
            "Setup of an account with 50 devices ≤ 3 s",
            f"{number(setup50.get('wall_ms', 0) / 1000, 2)} s" if setup50 else "n/a",
            None if not setup50 else setup50["wall_ms"] <= 3000,
        ),
        row(
            "≤ 2 ms CPU per schedule update (7 days x 48 slots)",
            f"{number(update, 2)} ms (median of {cpu.get('runs', 0)})",
            None if update is None else update <= 2,
        ),
        row(
            "No callback of the integration over 10 ms, garbage collection counted as it falls",
            f"longest {number(loop.get('max_ours_ms'), 1)} ms;"
            f" {loop.get('ours_over_10ms', 'n/a')} over 10 ms"
            f" (the integration's own work in them: longest"
            f" {number(loop.get('max_ours_without_gc_ms'), 1)} ms,"
            f" {loop.get('ours_over_10ms_without_gc', 'n/a')} over 10 ms)",
            None if not loop else loop["ours_over_10ms"] == 0,
        ),
        row(
            "≤ 80 requests per device per steady day",
            f"{number(steady_total, 1)} (1 device), {number(fifty_total, 1)} (50 devices)",
            None if steady_total is None else max(steady_total, fifty_total or 0) <= 80,
        ),
    ]


def edge_section(results: dict[str, Result], chart: bool) -> list[str]:
    """Build the edge-latency section."""
    lines = [
        "## Window edge → state change",
        "",
        "Real time, against the sandbox (whose clock is the real one). The schedule holds"
        " more than 100 edges at irregular sub-second offsets, 0.5 to 1.5 s apart; one account"
        " holds 1 or 50 devices at one location, all on the same windows. Latency is from the edge to the"
        " `state_changed` event of each device's Charging window sensor (all devices, all"
        " edges). Beside it, in the same Home Assistant, a template binary sensor compares"
        " `now()` with the same windows: Home Assistant renders it at the start of each"
        " minute, so it shows an edge only when a minute starts before the next edge, and"
        " misses the others.",
        "",
        "| | edges | state changes | p50 | p99 | max | missed | load (1 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entries in (1, 50):
        result = results.get(f"edges_{entries}")
        if not result:
            continue
        ours = result["integration_ms"]
        lines.append(
            f"| integration, {entries} device{'' if entries == 1 else 's'} | {result['edges']}"
            f" | {ours['n']} | {number(ours['p50'], 2)} ms | {number(ours['p99'], 2)} ms"
            f" | {number(ours['max'], 2)} ms | {result['integration_missed']}"
            f" | {loads(result)} |"
        )
    for entries in (1, 50):
        result = results.get(f"edges_{entries}")
        if not result:
            continue
        template = result["template_ms"]
        cells = (
            " | ".join(f"{number(ms_to_s(template[q]), 1)} s" for q in ("p50", "p99", "max"))
            if template["n"]
            else "none shown | | "
        )
        lines.append(
            f"| template `now()`, beside {entries} device{'' if entries == 1 else 's'}"
            f" | {result['edges']} | {template['n']} | {cells}"
            f" | {result['template_missed']} | {loads(result)} |"
        )
    # A rendering that changes both the state and the attribute may be written twice.
    renders = {
        entries: len({round(t) for t in results[f"edges_{entries}"].get("template_renders", [])})
        for entries in (1, 50)
        if f"edges_{entries}" in results
    }
    lines += [
        "",
        "The template was rendered "
        + " and ".join(
            f"{count} times beside {n} entr{'y' if n == 1 else 'ies'}"
            for n, count in renders.items()
        )
        + " while the edges passed (about 2 minutes each): it can show at most one edge a"
        " minute, a sub-minute window only if a minute starts inside it, and then up to a"
        ' minute late. Its "state changes" count the renderings that showed an edge.'
        ' For the integration, "missed" counts edges whose state came after the next'
        " edge, or never.",
    ]
    spread = results.get("edges_50", {}).get("spread_across_entries_ms")
    if spread and spread.get("n"):
        lines += [
            "",
            f"With 50 devices, the first and the last change state within"
            f" {number(spread['p50'], 2)} ms of each other at the median edge"
            f" ({number(spread['max'], 2)} ms at most). No request was made during the edges"
            f" ({results['edges_50']['requests_during_edges']} with 50 devices).",
        ]
    fifty = results.get("edges_50", {})
    if fifty.get("integration_without_gc_ms", {}).get("n"):
        calm = fifty["integration_without_gc_ms"]
        took = fifty["gc_at_edges_ms"]
        fell = (
            f" It fell between an edge and its last state change at {len(took)} of"
            f" {fifty['edges']} edges (taking {number(min(took), 1)} to"
            f" {number(max(took), 1)} ms there, median {number(statistics.median(took), 1)} ms)."
            " Collections belong to Home Assistant's process: the integration leaves them"
            " where they fall, and the figures above count them."
            if took
            else " None fell between an edge and its last state change."
        )
        lines += [
            "",
            f"Python collected garbage {fifty['collections']} times while the edges passed"
            f" with 50 devices.{fell} At the edges without one: p50 {number(calm['p50'], 2)} ms,"
            f" p99 {number(calm['p99'], 2)} ms, max {number(calm['max'], 2)} ms.",
        ]
    if chart:
        lines += ["", "![Edge latency](edge-latency.png)"]
    return [*lines, ""]


def ms_to_s(value: float | None) -> float | None:
    """Convert milliseconds to seconds."""
    return None if value is None else value / 1000


def request_section(results: dict[str, Result], chart: bool) -> list[str]:
    """Build the requests section."""
    present = [(k, label) for k, label in SCENARIOS.items() if f"requests_{k}" in results]
    if not present:
        return []
    header = "| per device per day | " + " | ".join(label for _, label in present) + " |"
    lines = [
        "## Requests per device per day",
        "",
        "Time travel (freezer and `async_fire_time_changed`) through 24 hours after setup,"
        " counted by the sandbox. Default options; no state-of-charge sensor is linked, so"
        " no states are sent. The steady days serve one schedule throughout; the other"
        " serves a different one each hour. Time moves in steps of 1 minute (1 device) or"
        " 5 minutes (50 devices), so a fetch falls due up to a step late.",
        "",
        header,
        "|---|" + "---|" * len(present),
    ]
    for kind in [*REQUEST_KINDS, "total"]:
        cells = []
        for key, _ in present:
            result = results[f"requests_{key}"]
            value = (
                result["total_per_device_per_day"]
                if kind == "total"
                else result["per_device_per_day"].get(kind, 0.0)
            )
            cells.append(f"**{value:.1f}**" if kind == "total" else f"{value:.1f}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    failed = [results[f"requests_{k}"]["failed"] for k, _ in present]
    lines += [
        "",
        "Setup itself (not counted above) asked, in all: "
        + "; ".join(
            f"{label}: "
            + ", ".join(
                f"{kind} {count}"
                for kind, count in results[f"requests_{key}"]["at_setup"].items()
                if count
            )
            for key, label in present
        )
        + f". Answers other than 200 during the days: {sum(failed)}.",
    ]
    if chart:
        lines += ["", "![Requests per device per day](requests.png)"]
    return [*lines, ""]


def other_sections(results: dict[str, Result]) -> list[str]:
    """Build the sections on setup time, CPU time, memory and the longest callback."""
    lines: list[str] = []
    setups = [results[name] for name in ("setup_1", "setup_50") if name in results]
    if setups:
        lines += [
            "## Setup time",
            "",
            "Real time, against the sandbox: the account with its devices is added, then set up as"
            " at Home Assistant's start, until every entity exists and Home Assistant is idle."
            " The sandbox answers in the same process and loop, so its time is included.",
            "",
            "| devices | wall time | CPU time | requests | states | load (1 min) |",
            "|---|---|---|---|---|---|",
            *(
                f"| {r['entries']} | {r['wall_ms']:.0f} ms | {r['cpu_ms']:.0f} ms"
                f" | {r['requests']} | {r['entities']} | {loads(r)} |"
                for r in setups
            ),
            "",
        ]
    cpu = results.get("cpu")
    if cpu:
        lines += [
            "## CPU time",
            "",
            f"One device. A schedule of {cpu['days']} days x {cpu['slots_per_day']} half-hour"
            f" slots ({cpu['slots']} slots) handed to the schedule coordinator as a fetch"
            " hands it: parsed from the JSON document by the API models, set as the"
            f" coordinator's data (the writer writes the {cpu['schedule_listeners']} entities"
            " that read the schedule in one callback, building the plan, and sets its timer),"
            " until Home Assistant is idle again. Two schedules"
            f" alternate, so every update changes the plan; {cpu['runs']} runs each,"
            " `time.process_time`.",
            "",
            "| | p50 | p90 | max |",
            "|---|---|---|---|",
            *(
                f"| {label} | {cpu[key]['p50']:.2f} ms | {cpu[key]['p90']:.2f} ms"
                f" | {cpu[key]['max']:.2f} ms |"
                for label, key in (
                    ("schedule update, in all", "update_ms"),
                    ("of which parsing", "parse_ms"),
                    ("the plan alone (built, next window edge found)", "plan_ms"),
                    (
                        f"`calendar.get_events` for a week ({cpu['calendar_events']} events)",
                        "calendar_action_ms",
                    ),
                    ("the calendar entity's `async_get_events` alone", "calendar_entity_ms"),
                )
            ),
            "",
        ]
    memory = results.get("memory")
    if memory:
        lines += [
            "## Memory per device",
            "",
            "Python allocations traced by `tracemalloc` (after a garbage collection) before"
            " and after setting up the account with one device, then adding its other devices one"
            " by one while it runs (as Add device does), all at one location.",
            "",
            f"- the account with its first device: {memory['first_entry_kib']:.0f} KiB"
            " (it also loads the platforms)",
            f"- each further device: {memory['per_further_entry_kib']:.0f} KiB (average of"
            f" {memory['entries'] - 1})",
            f"- all {memory['entries']} devices: {memory['per_entry_kib']:.0f} KiB per device",
            "",
        ]
    loop = results.get("loop")
    if loop:
        lines += [
            "## Longest callback on the event loop",
            "",
            "Every callback the event loop ran (plain callbacks, timers and task steps) was"
            f" timed while Home Assistant set up an account with {loop['entries']} devices, took in a week's"
            " schedule of 7 x 48 slots for each from the sandbox, listed each calendar's week"
            " and passed 20 window edges, in real time. A callback counts as the integration's"
            " when its function, the job it calls or the coroutines a task step resumes are"
            f" the integration's. {loop['callbacks']:,} callbacks ran;"
            f" {loop['ours_over_threshold']} of the integration's took"
            f" {loop['threshold_ms']:.0f} ms or more, {loop['ours_over_10ms']} over 10 ms."
            " The times are wall-clock: on a busy machine a callback's time includes any"
            " moment the process waited for a core, or a garbage collection, so a single"
            " long one may not be the callback's own work; the counts show how often each"
            " kind was slow. Python's garbage collections run wherever allocations trigger"
            f" them: {loop['gc_full']} full collection{'' if loop['gc_full'] == 1 else 's'} ran,"
            " the longest collection took"
            f" {loop['gc_max_ms']:.1f} ms, and the table gives the share of each longest"
            " callback that went to collections.",
            "",
            "| longest (ms) | of which garbage collection (ms) | times over 1 ms"
            " | what ran (outermost first) |",
            "|---|---|---|---|",
            *(
                f"| {item['ms']:.1f} | {item['gc_ms']:.1f} | {item['times']}"
                f" | {' → '.join(f'`{c}`' for c in shorten(item['runs']))} |"
                for item in loop["slowest_ours"][:6]
            ),
            "",
            "Each kind's longest without the garbage collections in it:",
            "",
            "| longest without collections (ms) | times over 1 ms in all | what ran (outermost first) |",
            "|---|---|---|",
            *(
                f"| {item['ms']:.1f} | {item['times']}"
                f" | {' → '.join(f'`{c}`' for c in shorten(item['runs']))} |"
                for item in loop.get("slowest_ours_without_gc", [])[:6]
            ),
            "",
            "The slowest callbacks that were not the integration's, for comparison. Under"
            " test, Home Assistant's storage is an in-memory stand-in that encodes the JSON"
            " to store on the event loop (`Store._async_schedule_callback_delayed_write`,"
            " here the integration's cached answers); an installation encodes and writes it"
            " in a worker thread.",
            "",
            "| longest (ms) | times over 1 ms | what ran |",
            "|---|---|---|",
            *(
                f"| {item['ms']:.1f} | {item['times']}"
                f" | {' → '.join(f'`{c}`' for c in shorten(item['runs']))} |"
                for item in loop["slowest_others"][:3]
            ),
            "",
        ]
    return lines


def shorten(chain: list[str]) -> list[str]:
    """Keep the integration's steps of a chain, and the first and last step."""
    kept = [
        step
        for number, step in enumerate(chain)
        if number in (0, len(chain) - 1) or step.startswith("custom_components/")
    ]
    return [step.removeprefix("custom_components/flatpeak/") for step in kept]


def render(results: dict[str, Result], docs: Path) -> str:
    """Build the whole report; the charts are written beside it."""
    any_result = next(iter(results.values()))
    loads_seen = [r["load_after"][0] for r in results.values() if r.get("load_after")]
    loads_seen += [r["load_before"][0] for r in results.values() if r.get("load_before")]
    first = min(result["written"] for result in results.values())
    when = datetime.fromtimestamp(first, UTC).strftime("%Y-%m-%d %H:%M UTC")
    edges_chart = chart_edges(results, docs / "edge-latency.png")
    requests_chart = chart_requests(results, docs / "requests.png")
    lines = [
        "# Benchmarks",
        "",
        f"Measured {when} with `{COMMAND}`, on {any_result['cores']} cores, with Home Assistant"
        f" {any_result['homeassistant']} on Python {any_result['python']}, against the sandbox"
        " (sandbox/) on loopback. The 1-minute load average ran from"
        f" {min(loads_seen):.2f} to {max(loads_seen):.2f} during the run"
        f" ({os.getloadavg()[0]:.2f} when this report was written);"
        " each table gives the load before and after its measurement. Real-time figures"
        " (latency, setup, the longest callback) move with the load: a busy machine delays"
        " the event loop.",
        "",
        "## Targets",
        "",
        *targets(results),
        "",
        *edge_section(results, edges_chart),
        *request_section(results, requests_chart),
        *other_sections(results),
    ]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    """Read the results folder and write the report."""
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        return 2
    results = read(Path(sys.argv[1]))
    if not results:
        print(f"no results in {sys.argv[1]}")
        return 1
    docs = Path(sys.argv[2]) if len(sys.argv) == 3 else Path(__file__).parents[1] / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "benchmarks.md").write_text(render(results, docs))
    print(f"wrote {docs / 'benchmarks.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
