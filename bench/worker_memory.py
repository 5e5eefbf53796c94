"""Benchmark of a PDF worker's memory: RSS of a process after 1, 10, 50 and 100 contract renders.

    DJANGO_DEBUG=1 .venv/bin/python bench/worker_memory.py [--renders 100] [--json F]

Builds on bench/contract_render.py (same throw-away SQLite database and applications). The
parent migrates the database, makes four applications (24, 48, 96 and 144 quincenas), closes its
connections and forks a child, as django-q2's cluster forks its workers from a process that has
already loaded Django. The child renders the four contracts in turn (`contract_pdf`,
`draft=False`), `--renders` times in all, as a worker would between two recycles (Q_RECYCLE is
200 tasks), and reports its resident set size (psutil) before the first render and after the
1st, 10th, 50th and 100th. Target: under 300 MB after 100 renders.
"""

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contract_render as base
import psutil
from django.db import connections

TERMS = (24, 48, 96, 144)
CHECKPOINTS = (1, 10, 50, 100)
TARGET_MB = 300


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1_000_000


def worker(application_ids: list[int], renders: int, results) -> None:
    """The child: render `renders` contracts in a row, reporting RSS at the checkpoints."""
    applications = [
        base.LoanApplication.objects.select_related("product", "affiliate__employer").get(pk=pk)
        for pk in application_ids
    ]
    report = {"before": rss_mb(), "after": {}, "seconds": 0.0}
    checkpoints = {*CHECKPOINTS, renders}
    started = time.perf_counter()
    for render in range(1, renders + 1):
        application = applications[(render - 1) % len(applications)]
        base.contract_pdf(application, draft=False, signed_on=base.SIGNED_ON)
        if render in checkpoints:
            report["after"][render] = rss_mb()
            print(f"  after {render:>3} renders: RSS {report['after'][render]:6.1f} MB", flush=True)
    report["seconds"] = time.perf_counter() - started
    results.put(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=100)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    options = parser.parse_args()
    try:
        base.call_command("migrate", verbosity=0)
        product = base.create_product()
        ids = [
            base.create_application(quincenas=quincenas, product=product, index=index).pk
            for index, quincenas in enumerate(TERMS)
        ]
        parent_rss = rss_mb()
        connections.close_all()
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        child = context.Process(target=worker, args=(ids, options.renders, results))
        child.start()
        report = results.get(timeout=3600)
        child.join()
    finally:
        base.shutil.rmtree(base.TEMPORARY, ignore_errors=True)
    last = max(report["after"])
    figures = {
        "renders": options.renders,
        "terms": list(TERMS),
        "parent_rss_mb": parent_rss,
        "rss_before_mb": report["before"],
        "rss_after_mb": report["after"],
        "final_rss_mb": report["after"][last],
        "seconds": report["seconds"],
        "target_mb": TARGET_MB,
    }
    print(
        f"Worker RSS: {report['before']:.0f} MB forked, "
        + ", ".join(f"{rss:.0f} MB after {n}" for n, rss in report["after"].items())
        + f" ({options.renders} renders in {report['seconds']:.0f} s); target < {TARGET_MB} MB"
    )
    if options.json:
        Path(options.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
