"""bench/results.md from one run's data: machine, tables, target verdicts, profile."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench.measure import MB, Stats, percentile

NOTES = Path(__file__).resolve().parent / "notes.md"
TABLE_START = "<!-- bench-table:start -->"
TABLE_END = "<!-- bench-table:end -->"
NAMES = {"bare": "bare ffmpeg", "core": "vmp3 core", "e2e": "vmp3 end to end",
         "moviepy": "moviepy", "pydub": "pydub"}
SHORT = {"v1min": "1 min", "v10min": "10 min", "v60min": "60 min", "v3h-low": "3 h (low-res)"}
INPUT_ORDER = ("v1min", "v10min", "v60min", "v3h-low")
RSS_LIMIT = 150 * MB


def _stats(runs: list[dict[str, Any]], key: str = "seconds") -> Stats:
    return Stats.of([float(r[key]) for r in runs])


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value / MB:.0f} MB"


def _secs(value: float) -> str:
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def _range(stats: Stats) -> str:
    if stats.runs == 1:
        return _secs(stats.median)
    return f"{_secs(stats.median)} ({stats.low:.2f}–{stats.high:.2f})"


def _inputs(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    sections = data["sections"]
    return [(name, sections[name]) for name in INPUT_ORDER if name in sections]


def _ratio(section: dict[str, Any], name: str) -> float | None:
    results = section["results"]
    if name not in results or "bare" not in results:
        return None
    return _stats(results[name]).median / _stats(results["bare"]).median


def _max_rss(runs: list[dict[str, Any]], key: str) -> int | None:
    values = [r["rss"].get(key) for r in runs if r.get("rss", {}).get(key)]
    return max(values) if values else None


# --- the compact table -----------------------------------------------------------------------

def readme_table(data: dict[str, Any]) -> str:
    contenders = ["bare", "core", "e2e", "moviepy", "pydub"]
    lines = ["| Input (640x360 H.264 + AAC) | " + " | ".join(NAMES[c] for c in contenders) + " |",
             "|---|" + "---:|" * len(contenders)]
    for name, section in _inputs(data):
        cells = []
        for contender in contenders:
            runs = section["results"].get(contender)
            if not runs:
                cells.append("–")
                continue
            median = _stats(runs).median
            ratio = _ratio(section, contender)
            cells.append(_secs(median) if contender == "bare" else f"{_secs(median)} "
                         f"({ratio:.2f}×)")
        label = SHORT.get(name, name) + f", n={section['rounds']}"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| Peak RSS | " + " | ".join(SHORT[n] for n, _ in _inputs(data)) + " |")
    lines.append("|---|" + "---:|" * len(_inputs(data)))
    for label, getter in _rss_rows():
        cells = [_mb(getter(section)) for _, section in _inputs(data)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| Target | Measured | Verdict |")
    lines.append("|---|---|---|")
    for target, measured, ok in verdicts(data):
        lines.append(f"| {target} | {measured} | {'met' if ok else '**missed**'} |")
    return "\n".join(lines)


def _peak(section: dict[str, Any], *suffixes: str) -> int | None:
    """Largest stack peak whose key ends with one of ``suffixes`` (over both converters)."""
    peaks: dict[str, int] = section.get("stack_peaks", {})
    values = [v for k, v in peaks.items() if any(k == s or k.endswith(s) for s in suffixes)]
    return max(values) if values else None


def _converter_python(section: dict[str, Any]) -> int | None:
    peaks: dict[str, int] = section.get("stack_peaks", {})
    values = [v for k, v in peaks.items() if k.startswith("converter-") and "/" not in k]
    return max(values) if values else None


def _rss_rows() -> list[tuple[str, Any]]:
    return [
        ("vmp3 core: Python", lambda s: _max_rss(s["results"].get("core", []), "python")),
        ("vmp3 core: FFmpeg (largest child)",
         lambda s: _max_rss(s["results"].get("core", []), "ffmpeg")),
        ("gateway (upload + status functions)", lambda s: _peak(s, "gateway")),
        ("converter: Python", _converter_python),
        ("converter: FFmpeg", lambda s: _peak(s, "/ffmpeg")),
        ("converter: ffprobe", lambda s: _peak(s, "/ffprobe")),
        ("bare ffmpeg", lambda s: _max_rss(s["results"].get("bare", []), "ffmpeg")),
        ("moviepy: Python + largest FFmpeg",
         lambda s: _sum_or_none(_max_rss(s["results"].get("moviepy", []), "python"),
                                _max_rss(s["results"].get("moviepy", []), "ffmpeg"))),
        ("pydub: Python + largest FFmpeg",
         lambda s: _sum_or_none(_max_rss(s["results"].get("pydub", []), "python"),
                                _max_rss(s["results"].get("pydub", []), "ffmpeg"))),
    ]


def _sum_or_none(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


# --- verdicts --------------------------------------------------------------------------------

def _vmp3_rss(section: dict[str, Any]) -> dict[str, int]:
    """Every vmp3 process's peak in one input's runs: core, its FFmpeg, the stack's processes."""
    found: dict[str, int] = {}
    core = section["results"].get("core", [])
    for key, label in (("python", "core Python"), ("ffmpeg", "core FFmpeg")):
        value = _max_rss(core, key)
        if value:
            found[label] = value
    for label, getter in (("gateway", lambda s: _peak(s, "gateway")),
                          ("converter Python", _converter_python),
                          ("converter FFmpeg", lambda s: _peak(s, "/ffmpeg")),
                          ("converter ffprobe", lambda s: _peak(s, "/ffprobe"))):
        value = getter(section)
        if value:
            found[label] = value
    return found


def verdicts(data: dict[str, Any]) -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    sections = data["sections"]
    ratios = {SHORT[n]: _ratio(s, "core") for n, s in _inputs(data)}
    shown = ", ".join(f"{k} {v:.2f}×" for k, v in ratios.items() if v is not None)
    out.append(("vmp3 core ≤ 1.05× bare ffmpeg", shown,
                all(v is not None and v <= 1.05 for v in ratios.values())))
    if "v10min" in sections and "e2e" in sections["v10min"]["results"]:
        ratio = _ratio(sections["v10min"], "e2e")
        assert ratio is not None
        out.append(("end to end, 10 min ≤ 1.25× bare ffmpeg", f"{ratio:.2f}×", ratio <= 1.25))
    per_input = {n: _vmp3_rss(s) for n, s in _inputs(data)}
    worst = max(((v, f"{k} ({SHORT[n]})") for n, d in per_input.items() for k, v in d.items()),
                default=(0, "–"))
    flat = _flatness(per_input)
    out.append(("every vmp3 process ≤ 150 MB, flat from 1 min to 3 h",
                f"largest {worst[0] / MB:.0f} MB: {worst[1]}; {flat[0]}",
                worst[0] <= RSS_LIMIT and flat[1]))
    if "copy" in sections:
        res = sections["copy"]["results"]
        core = _stats(res["core_encode"]).median / _stats(res["core_copy"]).median
        bare = _stats(res["bare_encode"]).median / _stats(res["bare_copy"]).median
        out.append(("stream copy ≥ 20× faster than re-encoding",
                    f"vmp3 core {core:.1f}× (bare ffmpeg {bare:.1f}×)", core >= 20))
    if "parallel" in sections:
        par = sections["parallel"]
        ratio = par["parallel_wall_s"] / par["sequential_wall_s"]
        out.append(("4 jobs on 2 converters ≤ 0.6× sequential",
                    f"{par['parallel_wall_s']:.1f} s vs {par['sequential_wall_s']:.1f} s = "
                    f"{ratio:.2f}×", ratio <= 0.6))
    if "status" in sections:
        st = sections["status"]
        p99 = percentile(st["from_slot"], 99) * 1000
        out.append(("status p99 < 20 ms at 200 req/s",
                    f"p99 {p99:.1f} ms (p50 {percentile(st['from_slot'], 50) * 1000:.1f} ms)",
                    p99 < 20))
    return out


def _flatness(per_input: dict[str, dict[str, int]]) -> tuple[str, bool]:
    """Compare each process's peak on the 1-minute and the 3-hour input."""
    first, last = per_input.get("v1min"), per_input.get("v3h-low")
    if not first or not last:
        return "flatness not measured (needs the 1-minute and 3-hour inputs)", False
    growth = {k: last[k] - first[k] for k in first if k in last}
    worst = max(growth.items(), key=lambda kv: kv[1])
    ok = all(g <= max(10 * MB, 0.1 * first[k]) for k, g in growth.items())
    return f"largest growth 1 min → 3 h: {worst[0]} {worst[1] / MB:+.0f} MB", ok


# --- the full document -----------------------------------------------------------------------

def render(data: dict[str, Any]) -> str:
    parts = [_header(data), "## Summary (for the README)", "", TABLE_START,
             readme_table(data), TABLE_END, ""]
    parts += _detail(data)
    parts += _memory(data)
    parts += _copy(data)
    parts += _parallel(data)
    parts += _status(data)
    parts += _profile(data)
    if NOTES.exists():
        parts += ["## Analysis", "", NOTES.read_text().strip(), ""]
    return "\n".join(parts) + "\n"


def _header(data: dict[str, Any]) -> str:
    m = data["machine"]
    gen = data.get("generation_s", {})
    generated = ", ".join(f"{k} {v:.0f} s" for k, v in gen.items() if v > 0.5) or "cached"
    return "\n".join([
        "# vmp3 benchmarks", "",
        "Produced by `.venv/bin/python -m bench` (from the repository root); "
        "inputs are generated into `bench/work/` on first use and reused.", "",
        f"- Run: {data['started_at']}, {data['total_s'] / 60:.1f} min of benchmarks "
        f"(input generation: {generated})",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['os']}",
        f"- FFmpeg: {m['ffmpeg']}; ffprobe: {m['ffprobe']}",
        f"- Python {m['python']}; peers: {m['peers']}; bubblewrap: {m['bwrap']}",
        f"- Load average (1 min) at start {data['load_start'][0]:.2f}, at end "
        f"{data['load_end'][0]:.2f}: other sessions share this 2-core machine, so single "
        "runs are noisy; contenders are interleaved round by round and medians reported.",
        "- Times are wall-clock seconds of the conversion call itself (interpreter start and "
        "imports excluded); bare ffmpeg is timed from spawn to exit. End to end is "
        "`vmp3.client.Client.convert`: create, presigned POST upload, start, poll (every "
        "0.25 s, down to 0.1 s near the end progress predicts), download, through a local "
        "stack of its own (`vmp3 local up --converters 2`, own queue, bucket and Redis db).",
        "- Output everywhere: libmp3lame VBR `-q:a 2` at the source rate (48 kHz), stereo. "
        "moviepy and pydub are given the same FFmpeg binary (`FFMPEG_BINARY`, "
        "`AudioSegment.converter`, and PATH for ffprobe).",
        ""])


def _detail(data: dict[str, Any]) -> list[str]:
    lines = ["## Speed and memory per input", ""]
    for _name, section in _inputs(data):
        lines += [f"### {section['label']} ({section['size_bytes'] / 1e6:.0f} MB), "
                  f"{section['rounds']} round(s)", "",
                  "| Contender | median (min–max) | × bare | peak RSS | output |",
                  "|---|---:|---:|---|---|"]
        for contender, runs in section["results"].items():
            stats = _stats(runs)
            ratio = _ratio(section, contender)
            rss = _rss_cell(section, contender, runs)
            out = section["outputs"].get(contender, {})
            facts = (f"{out['duration_s']:.2f} s, {out['kbps']:.0f} kb/s"
                     if out.get("duration_s") else "–")
            lines.append(f"| {NAMES[contender]} | {_range(stats)} | "
                         f"{'' if ratio is None else f'{ratio:.2f}×'} | {rss} | {facts} |")
        lines.append("")
    return lines


def _rss_cell(section: dict[str, Any], contender: str, runs: list[dict[str, Any]]) -> str:
    if contender == "bare":
        return f"ffmpeg {_mb(_max_rss(runs, 'ffmpeg'))}"
    if contender == "e2e":
        peaks = section.get("stack_peaks", {})
        return (f"gateway {_mb(_peak(section, 'gateway'))}, converter "
                f"{_mb(_converter_python(section))} + FFmpeg {_mb(_peak(section, '/ffmpeg'))}, "
                f"client {_mb(_max_rss(runs, 'python'))}" if peaks else "–")
    return (f"Python {_mb(_max_rss(runs, 'python'))}, FFmpeg "
            f"{_mb(_max_rss(runs, 'ffmpeg'))}")


def _memory(data: dict[str, Any]) -> list[str]:
    rows = {n: _vmp3_rss(s) for n, s in _inputs(data)}
    labels = sorted({k for d in rows.values() for k in d})
    lines = ["## Peak RSS of every vmp3 process", "",
             "Python processes we start (core, peers, client): exact `ru_maxrss`. Their FFmpeg "
             "children, and the stack's gateway and converters with their children: RSS read "
             "from /proc every 25 ms over each process tree (a forked child's `ru_maxrss` "
             "starts at its parent's, so it cannot be used for FFmpeg). The stack's processes "
             "live through the whole run, so their peak per input includes what earlier runs "
             "left. LocalStack, Redis and RabbitMQ are infrastructure and not counted.", "",
             "| Process | " + " | ".join(SHORT[n] for n in rows) + " |",
             "|---|" + "---:|" * len(rows)]
    for label in labels:
        cells = [_mb(rows[n].get(label)) for n in rows]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _copy(data: dict[str, Any]) -> list[str]:
    if "copy" not in data["sections"]:
        return []
    section = data["sections"]["copy"]
    res = section["results"]
    lines = [f"## Stream copy against re-encode ({section['label']}, {section['rounds']} rounds)",
             "", "| Contender | copy | re-encode (V2) | re-encode / copy |", "|---|---:|---:|---:|"]
    for who in ("bare", "core"):
        copy, enc = _stats(res[f"{who}_copy"]), _stats(res[f"{who}_encode"])
        lines.append(f"| {'bare ffmpeg' if who == 'bare' else 'vmp3 core'} | {_range(copy)} | "
                     f"{_range(enc)} | {enc.median / copy.median:.1f}× |")
    phases = _phase_medians(res["core_copy"])
    if phases:
        lines += ["", "vmp3 core copy, where the time goes (medians): " + _phase_text(phases)]
    lines.append("")
    return lines


def _phase_medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = {k for r in runs for k in r.get("phases", {})}
    return {k: statistics.median([r["phases"].get(k, 0.0) for r in runs]) for k in sorted(keys)}


def _phase_text(phases: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f} s" for k, v in phases.items())


def _parallel(data: dict[str, Any]) -> list[str]:
    if "parallel" not in data["sections"]:
        return []
    par = data["sections"]["parallel"]
    each = ", ".join(f"{r['seconds']:.1f}" for r in par["parallel"])
    seq = ", ".join(f"{r['seconds']:.1f}" for r in par["sequential"])
    return ["## 4 jobs on 2 converters (10-minute video, end to end)", "",
            f"- One after another: {par['sequential_wall_s']:.1f} s wall "
            f"(jobs {seq} s)",
            f"- All 4 at once, 2 converters: {par['parallel_wall_s']:.1f} s wall "
            f"(jobs {each} s), ratio {par['parallel_wall_s'] / par['sequential_wall_s']:.2f}",
            "- Peaks during this test: " + ", ".join(
                f"{k} {_mb(v)}" for k, v in sorted(par["stack_peaks"].items())), ""]


def _status(data: dict[str, Any]) -> list[str]:
    if "status" not in data["sections"]:
        return []
    st = data["sections"]["status"]
    slot, send = st["from_slot"], st["from_send"]

    def row(label: str, values: list[float]) -> str:
        cells = [f"{percentile(values, p) * 1000:.1f}" for p in (50, 90, 99, 99.9)]
        return f"| {label} | " + " | ".join(cells) + f" | {max(values) * 1000:.1f} |"

    return ["## Status lookups through the local gateway", "",
            f"`GET /jobs/{{id}}` open loop at 200 requests/s for 10 s ({len(slot)} requests, "
            f"answers {st['codes']}), one client process with up to 100 connections. "
            "'From slot' counts from the moment a request was due, so a stalled gateway "
            "cannot hide queued requests (no coordinated omission).", "",
            "| Latency (ms) | p50 | p90 | p99 | p99.9 | max |", "|---|---:|---:|---:|---:|---:|",
            row("from slot", slot), row("from send", send), "",
            f"Gateway peak RSS during the test: {_mb(st['stack_peaks'].get('gateway'))}", ""]


def _profile(data: dict[str, Any]) -> list[str]:
    sections = data["sections"]
    lines = ["## Where the time goes (10-minute video)", ""]
    if "v10min" in sections:
        section = sections["v10min"]
        bare = _stats(section["results"]["bare"]).median
        lines.append(f"Bare ffmpeg median: {bare:.2f} s.")
        core = _phase_medians(section["results"]["core"])
        if core:
            lines.append(f"- vmp3 core (medians): {_phase_text(core)}; total "
                         f"{_stats(section['results']['core']).median:.2f} s.")
        e2e = section["results"].get("e2e")
        if e2e:
            phases = _phase_medians(e2e)
            order = ["create_start", "upload", "queue_and_records", "converter", "poll_slack",
                     "download"]
            lines.append("- End to end, client side (medians): " + ", ".join(
                f"{k} {phases[k]:.2f} s" for k in order if k in phases)
                + f"; total {_stats(e2e).median:.2f} s. `converter` is the job's own "
                "`result.seconds` (S3 download, core, S3 upload); `poll_slack` is from the "
                "record turning `done` to the client seeing it.")
    if "profile" in sections:
        phases = _phase_medians(sections["profile"])
        lines.append("- Converter steps run one by one against the same LocalStack S3 "
                     f"(medians of {len(sections['profile'])}): {_phase_text(phases)}.")
    lines.append("")
    return lines
