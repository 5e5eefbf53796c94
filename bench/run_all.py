"""Every benchmark of bench/, each figure next to its target, and BENCHMARKS.md rewritten.

    .venv/bin/python bench/run_all.py [--quick] [--only NAME ...] [--output BENCHMARKS.md]

`make bench` runs it (full sizes; the 1,000,000-application step takes a while and prints its
progress). --quick uses small sizes, to try it. Each benchmark runs in a process of its own
(each sets its own database before Django starts) and hands its figures back as JSON; every
ratio is measured inside one benchmark, the thing and its reference alternating, so that
other load on the machine hits both alike. Not part of CI: a miss is reported, not a failure.
"""

import argparse
import datetime
import json
import os
import platform
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
PYTHON = str(PROJECT / ".venv" / "bin" / "python")
ANALYSIS = BENCH / "analysis.md"
# The raw figures of the last run of each benchmark (var/ is never committed): with --only, the
# other benchmarks' sections of BENCHMARKS.md come from here, marked with their date.
STATE = PROJECT / "var" / "bench" / "results.json"


@dataclass
class Row:
    """One figure: what, measured, target, verdict (PASS, MISS, or '' without a target)."""

    what: str
    value: str
    target: str = ""
    verdict: str = ""


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


@dataclass(eq=False)
class Benchmark:
    name: str
    title: str
    script: str
    full: list[str]
    quick: list[str]
    debug: bool = True


BENCHMARKS = [
    Benchmark(
        "contract",
        "Contrato en PDF frente a WeasyPrint solo",
        "contract_render.py",
        ["--reference", "--runs", "15"],
        ["--reference", "--runs", "3"],
    ),
    Benchmark(
        "signing",
        "Firma del solicitante (B-LT) y sello institucional (B-LTA) frente a pyHanko solo",
        "signing.py",
        ["--runs", "15"],
        ["--runs", "2"],
    ),
    Benchmark(
        "throughput",
        "Páginas por segundo en gunicorn (wrk)",
        "throughput.py",
        ["--duration", "10", "--rounds", "3"],
        ["--duration", "3", "--rounds", "1"],
        debug=False,
    ),
    Benchmark(
        "queries",
        "Consultas por página con 1 y con 100 filas",
        "queries.py",
        ["--rows", "100"],
        ["--rows", "100"],
        debug=False,
    ),
    Benchmark(
        "memory",
        "Memoria de un trabajador de PDF",
        "worker_memory.py",
        ["--renders", "100"],
        ["--renders", "10"],
    ),
    Benchmark(
        "sync",
        "Sincronización de afiliados",
        "sync_affiliates.py",
        ["--rows", "200000"],
        ["--rows", "2000"],
    ),
    Benchmark(
        "scale",
        "Tablero y lista de la administración con 1,000,000 de solicitudes",
        "dashboard_scale.py",
        [],
        ["--applications", "10000", "--affiliates", "2000", "--runs", "3"],
        debug=False,
    ),
]


# --- The machine -----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    models = [
        line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line
    ]
    memory = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "CPU": f"{models[0] if models else platform.processor()} × {len(models) or os.cpu_count()}",
        "RAM": f"{int(memory) / 2**20:.1f} GiB",
        "Kernel": platform.release(),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": postgres_version(),
    }


def postgres_version() -> str:
    try:
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres") as connection:
            return connection.execute("SHOW server_version").fetchone()[0].split()[0]
    except Exception as error:
        return f"not available ({error.__class__.__name__})"


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


# --- Running ---------------------------------------------------------------------------------


def run(benchmark: Benchmark, quick: bool, folder: Path) -> tuple[dict | None, float, str]:
    output = folder / f"{benchmark.name}.json"
    arguments = [*(benchmark.quick if quick else benchmark.full), "--json", str(output)]
    environment = {**os.environ}
    if benchmark.debug:
        environment["DJANGO_DEBUG"] = "1"
    else:
        environment.pop("DJANGO_DEBUG", None)
    command = [PYTHON, str(BENCH / benchmark.script), *arguments]
    print(f"\n=== {benchmark.title}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    process = subprocess.run(command, cwd=PROJECT, env=environment, check=False)  # noqa: S603
    seconds = time.perf_counter() - started
    if process.returncode != 0 or not output.exists():
        return None, seconds, f"exit status {process.returncode}"
    return json.loads(output.read_text()), seconds, ""


# --- Figures against targets -----------------------------------------------------------------


def contract_rows(figures: dict) -> list[Row]:
    return [
        Row(
            f"Contrato de 24 quincenas ({figures['contract_pages']} págs.) / referencia "
            f"({figures['reference_pages']} págs., tabla de 60 filas), mediana de "
            f"{figures['runs']} alternadas",
            f"{figures['ratio']:.2f}× ({figures['contract_median_s']:.3f} s / "
            f"{figures['reference_median_s']:.3f} s; CPU {figures['cpu_ratio']:.2f}×)",
            f"≤ {figures['target']}×",
            verdict(figures["ratio"] <= figures["target"]),
        )
    ]


def signing_rows(figures: dict) -> list[Row]:
    median, requests, target = figures["median_s"], figures["requests_per_call"], figures["target"]

    def counts(name: str) -> str:
        return ", ".join(
            f"{service.upper()} {count:g}"
            for service, count in requests[name].items()
            if count or service != "other"
        )

    return [
        Row(
            "Firma del solicitante (preparar + terminar, B-LT, sin el render del contrato) / "
            "pyHanko solo",
            f"{figures['sign_ratio']:.2f}× ({median['portal_sign']:.3f} s / "
            f"{median['plain_sign']:.3f} s)",
            f"≤ {target}×",
            verdict(figures["sign_ratio"] <= target),
        ),
        Row(
            "Lo mismo con el render del contrato en ambos lados",
            f"{figures['sign_with_render_ratio']:.2f}× "
            f"({median['prepare'] + median['finish']:.3f} s / "
            f"{median['plain_render'] + median['plain_sign']:.3f} s)",
            f"≤ {target}×",
            verdict(figures["sign_with_render_ratio"] <= target),
        ),
        Row(
            "Sello institucional (B-LTA, guardado) / pyHanko solo B-LTA",
            f"{figures['seal_ratio']:.2f}× ({median['portal_seal']:.3f} s / "
            f"{median['plain_seal']:.3f} s)",
            f"≤ {target}×",
            verdict(figures["seal_ratio"] <= target),
        ),
        Row("Peticiones por firma del solicitante (portal)", counts("portal_sign")),
        Row("Peticiones por firma con pyHanko solo", counts("plain_sign")),
        Row("Peticiones por sello (portal)", counts("portal_seal")),
        Row("Peticiones por sello con pyHanko solo", counts("plain_seal")),
    ]


def throughput_rows(figures: dict) -> list[Row]:
    rows = []
    for page in figures["pages"]:
        main = page["page"]
        errors = main["non_2xx"] + page["template_only"]["non_2xx"]
        note = f"; {errors} respuestas no 2xx" if errors else ""
        rows.append(
            Row(
                f"{page['name']}: página / solo plantilla (req/s)",
                f"{page['ratio_template']:.2f}× ({main['requests_per_s']:.0f} / "
                f"{page['template_only']['requests_per_s']:.0f}){note}",
                f"≥ {figures['ratio_target']}×",
                verdict(page["ratio_template"] >= figures["ratio_target"] and not errors),
            )
        )
        rows.append(
            Row(
                f"{page['name']}: p99 a {figures['connections']} conexiones (p50)",
                f"{main['p99_ms']:.0f} ms ({main['p50_ms']:.0f} ms)",
                f"≤ {figures['p99_target_ms']:.0f} ms",
                verdict(main["p99_ms"] <= figures["p99_target_ms"]),
            )
        )
        rows.append(
            Row(
                f"{page['name']}: página / hola mundo (req/s)",
                f"{page['ratio_hello']:.2f}× ({main['requests_per_s']:.0f} / "
                f"{page['hello']['requests_per_s']:.0f})",
            )
        )
    return rows


def queries_rows(figures: dict) -> list[Row]:
    return [
        Row(
            f"{page['name']}: consultas con 1 y con {figures['rows']} filas",
            f"{page['queries_1']} y {page['queries_many']}",
            "iguales",
            verdict(page["queries_1"] == page["queries_many"]),
        )
        for page in figures["pages"]
    ]


def memory_rows(figures: dict) -> list[Row]:
    after = figures["rss_after_mb"]
    return [
        Row(
            f"RSS del proceso hijo tras {figures['renders']} contratos (24–144 quincenas)",
            f"{figures['final_rss_mb']:.0f} MB (al bifurcar {figures['rss_before_mb']:.0f} MB; "
            + ", ".join(f"{rss:.0f} MB tras {n}" for n, rss in after.items())
            + ")",
            f"< {figures['target_mb']} MB",
            verdict(figures["final_rss_mb"] < figures["target_mb"]),
        )
    ]


SYNC_TARGET_S = 60.0


def sync_rows(figures: dict) -> list[Row]:
    rows = []
    for item in figures["runs"]:
        target = ""
        ok = ""
        if "first sync" in item["label"]:
            target = f"≤ {SYNC_TARGET_S:.0f} s (propio)"
            ok = verdict(item["seconds"] <= SYNC_TARGET_S)
        rows.append(
            Row(
                f"{figures['rows']:,} afiliados: {item['label']}",
                f"{item['seconds']:.1f} s ({item['rows_per_s']:,.0f} filas/s, pico "
                f"{item['peak_rss_mib']:.0f} MiB; {item['created']:,} nuevos, "
                f"{item['updated']:,} actualizados, {item['rejected']:,} rechazados)",
                target,
                ok,
            )
        )
    return rows


def scale_rows(figures: dict) -> list[Row]:
    rows = []
    scales = figures["scales"]
    full = scales[-1]
    small = scales[0] if len(scales) > 1 else None
    for index, figure in enumerate(full["figures"]):
        target, ok = "", ""
        if figure["target"] or figure["label"].startswith("/admin/"):
            target = "< 1 s (máx.)"
            ok = verdict(figure["max_s"] < 1)
        queries = figure["queries"]
        if small is not None:
            queries = f"{small['figures'][index]['queries']} → {queries}"
        rows.append(
            Row(
                f"{full['name']}: {figure['label']}",
                f"mediana {figure['median_s']:.3f} s, máx. {figure['max_s']:.3f} s; "
                f"consultas {queries}",
                target,
                ok,
            )
        )
    if small is not None:
        same = all(
            a["queries"] == b["queries"]
            for a, b in zip(small["figures"], full["figures"], strict=True)
            if b["target"]
        )
        rows.append(
            Row(
                f"Consultas del tablero en {small['name']} y en {full['name']}",
                "iguales" if same else "distintas",
                "iguales",
                verdict(same),
            )
        )
    rows.append(Row("Base de datos", figures["database"]))
    return rows


ROWS = {
    "contract": contract_rows,
    "signing": signing_rows,
    "throughput": throughput_rows,
    "queries": queries_rows,
    "memory": memory_rows,
    "sync": sync_rows,
    "scale": scale_rows,
}


# --- Output ----------------------------------------------------------------------------------


def markdown_table(rows: list[Row]) -> list[str]:
    lines = ["| Medición | Cifra | Meta | Resultado |", "| --- | --- | --- | --- |"]
    for row in rows:
        cells = [
            row.what,
            row.value,
            row.target or "—",
            f"**{row.verdict}**" if row.verdict else "—",
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return lines


def write_markdown(
    path: Path, *, description, started, ended, load_start, load_end, quick, results
):
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run_all.py`); do not edit by hand: the next run rewrites "
        "it. How each benchmark works: `bench/README.md`. Every ratio was measured within one "
        "run, the page or operation and its reference alternating (ABAB…), so that other load on "
        "the machine hits both alike; absolute times depend on that load.",
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in description.items()],
        f"- Load average (1 / 5 / 15 min) at the start: {load_start}; at the end: {load_end}",
        f"- Run: {started:%Y-%m-%d %H:%M} – {ended:%H:%M} "
        f"({'--quick, small sizes' if quick else 'full sizes'})"
        + (
            "; benchmarks not run now are from the run stated in their section, with the "
            "load average of their end"
            if any(error for figures, _s, error in results.values() if figures is not None)
            else ""
        ),
        "",
    ]
    for benchmark, (figures, seconds, error) in results.items():
        lines += [f"## {benchmark.title}", ""]
        lines.append(f"`bench/{benchmark.script}`, {seconds:.0f} s.")
        if figures is not None and error:
            lines.append(f"Figures {error}; the machine's description above is of a later run.")
        lines.append("")
        if figures is None:
            lines += [f"**Did not finish** ({error}); see its output in the run's log.", ""]
            continue
        lines += [*markdown_table(ROWS[benchmark.name](figures)), ""]
    if ANALYSIS.exists():
        # Written by hand after a run: why a target was missed and what is planned.
        lines += [ANALYSIS.read_text().strip(), ""]
    lines += ["## Raw figures", ""]
    for benchmark, (figures, _seconds, _error) in results.items():
        if figures is not None:
            lines += [
                f"<details><summary>{benchmark.name}</summary>",
                "",
                "```json",
                json.dumps(figures, indent=2, ensure_ascii=False),
                "```",
                "",
                "</details>",
                "",
            ]
    path.write_text("\n".join(lines))


def print_rows(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    for row in rows:
        target = f"  [meta {row.target}: {row.verdict}]" if row.target else ""
        print(f"  {row.what}: {row.value}{target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to try it")
    parser.add_argument(
        "--only", nargs="+", choices=[b.name for b in BENCHMARKS], help="run only these"
    )
    parser.add_argument(
        "--rewrite",
        action="store_true",
        help="run nothing: rewrite BENCHMARKS.md from the last figures (after editing analysis.md)",
    )
    parser.add_argument("--output", default=str(PROJECT / "BENCHMARKS.md"))
    options = parser.parse_args()
    started = datetime.datetime.now().astimezone()
    load_start = load_average()
    description = machine()
    print("Machine: " + "; ".join(f"{key} {value}" for key, value in description.items()))
    print(f"Load average at the start: {load_start}", flush=True)
    previous = json.loads(STATE.read_text()) if STATE.exists() else {}
    results: dict[Benchmark, tuple[dict | None, float, str]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-run-") as folder:
        for benchmark in BENCHMARKS:
            if options.rewrite or (options.only and benchmark.name not in options.only):
                kept = previous.get(benchmark.name)
                if kept and kept["quick"] == options.quick:
                    results[benchmark] = (
                        kept["figures"],
                        kept["seconds"],
                        f"from the run of {kept['date']} (load average {kept['load']})",
                    )
                continue
            results[benchmark] = run(benchmark, options.quick, Path(folder))
            figures, seconds, _error = results[benchmark]
            if figures is not None:
                previous[benchmark.name] = {
                    "figures": figures,
                    "seconds": seconds,
                    "quick": options.quick,
                    "date": f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M}",
                    "load": load_average(),
                }
                STATE.parent.mkdir(parents=True, exist_ok=True)
                STATE.write_text(json.dumps(previous, indent=2, ensure_ascii=False))
    load_end = load_average()
    print("\n" + "=" * 78 + "\nEvery figure with its target")
    misses = 0
    for benchmark, (figures, _seconds, error) in results.items():
        if figures is None:
            print(f"\n{benchmark.title}: DID NOT FINISH ({error})")
            misses += 1
            continue
        rows = ROWS[benchmark.name](figures)
        misses += sum(row.verdict == "MISS" for row in rows)
        print_rows(benchmark.title, rows)
    print(f"\nLoad average at the end: {load_end}; {misses} target(s) missed.")
    write_markdown(
        Path(options.output),
        description=description,
        started=started,
        ended=datetime.datetime.now().astimezone(),
        load_start=load_start,
        load_end=load_end,
        quick=options.quick,
        results=results,
    )
    print(f"Wrote {options.output}")


if __name__ == "__main__":
    main()
