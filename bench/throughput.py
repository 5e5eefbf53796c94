"""Benchmark of page throughput: five portal pages on the real gunicorn, measured with wrk.

    .venv/bin/python bench/throughput.py [--duration 10] [--rounds 2] [--connections 16]
        [--json F] [--keep] [--reuse]

A scratch PostgreSQL database, `isseg_bench_web`, is created, migrated and seeded through the
project's own commands (`demo_pki setup`, `seed_demo --full --force`: the demo accounts, a
demo application in every state with real signed PDFs, and the program's history of 1,187
applications), with its own var/ folder and demo PKI in a temporary folder. Sessions are made
for a linked applicant (activo@demo.test, for the simulator), the applicant of the paid demo
application (Mis solicitudes and that application's page), the superuser (the admin's list of
applications) and the Gerencia user (/tablero/), and their cookies given to wrk with -H.

gunicorn runs with the repository's gunicorn.conf.py (workers, threads, max_requests as in
production), on a free port, with bench/settings.py: DEBUG off, STAFF_REQUIRE_MFA=0, and two
bench-only URLs (bench/urls.py): /bench/hello/ (a plain HttpResponse) and
/bench/template-only/?path=<page>, the page's template rendered with the context its view built
once (no view queries). For each page, its template-only version and the hello view, in turn
(ABAB... over --rounds rounds, three by default, so that load on the machine hits all alike),
wrk runs -t2 -c16 -d10s --latency after a warm-up. Reported: requests/s, p50, p99, and the
ratios page / template-only (target >= 0.7) and page / hello; target p99 <= 150 ms.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scratch

DATABASE = "isseg_bench_web"
RATIO_TARGET = 0.7
P99_TARGET_MS = 150.0


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs of each URL")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept, seeded isseg_bench_web")
    return parser.parse_args()


@dataclass
class Page:
    name: str
    path: str
    cookie: str
    runs: dict[str, list[dict]] = field(default_factory=dict)


def seed(reuse: bool) -> None:
    from django.core.management import call_command

    if reuse:
        return
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("demo_pki", "setup", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", "--force", "--full", stdout=quiet)
    print(f"Seeded {DATABASE} in {time.perf_counter() - started:.0f} s", flush=True)


def session_cookie(email: str) -> str:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(email=email))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def pages() -> list[Page]:
    from django.urls import reverse

    from loans.models import ApplicationStatus, LoanApplication

    paid = (
        LoanApplication.objects.filter(
            applicant__email__startswith="solicitante", status=ApplicationStatus.DISBURSED
        )
        .select_related("applicant")
        .get()
    )
    applicant = session_cookie(paid.applicant.email)
    return [
        Page(
            "Simulador (afiliado vinculado)",
            reverse("loans:simulator"),
            session_cookie("activo@demo.test"),
        ),
        Page("Mis solicitudes", reverse("loans:application_list"), applicant),
        Page(
            "Página de una solicitud (pagada)",
            reverse("loans:application_detail", args=[paid.public_id]),
            applicant,
        ),
        Page(
            "Admin: lista de solicitudes",
            reverse("admin:loans_loanapplication_changelist"),
            session_cookie("admin@demo.test"),
        ),
        Page(
            "Tablero de gerencia",
            reverse("dashboard:dashboard"),
            session_cookie("gerencia@demo.test"),
        ),
    ]


def start_gunicorn(environment: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        **environment,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        # gunicorn.conf.py recycles a worker after about 1,000 requests: under wrk that is every
        # few seconds (a real portal serves a few requests a second), and each new worker's
        # start-up would land in the latencies measured. Recycling is left out of the bench.
        "GUNICORN_MAX_REQUESTS": "1000000",
    }
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn and config
        [str(scratch.PROJECT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py"],
        cwd=scratch.PROJECT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/hello/", timeout=2):
                return process
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not answer in 60 s; see {log}")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, cookie: str | None, *, duration: int, options) -> dict:
    command = [
        "wrk",
        f"-t{options.threads}",
        f"-c{options.connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(  # noqa: S603 - wrk with our arguments
        [*command, url], capture_output=True, text=True, check=True
    ).stdout
    latency = {f"p{p}_ms": float(v) * UNIT[u] for p, v, u in LATENCY.findall(output)}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if rate is None or "p99_ms" not in latency:
        raise RuntimeError(f"Unreadable wrk output for {url}:\n{output}")
    return {
        "requests_per_s": float(rate.group(1)),
        "requests": int(requests.group(1)) if requests else 0,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
        **latency,
    }


def check_page(base: str, page: Page) -> None:
    """Each URL answers 200 with the cookie (not a redirect to the login page)."""
    for url in (base + page.path, template_url(base, page)):
        request = urllib.request.Request(url, headers={"Cookie": page.cookie})  # noqa: S310
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            if response.status != 200 or response.url != url:
                raise RuntimeError(f"{url} answered {response.status} at {response.url}")


def template_url(base: str, page: Page) -> str:
    return f"{base}/bench/template-only/?path={quote(page.path)}"


def summary(runs: list[dict]) -> dict:
    return {
        "requests_per_s": statistics.median(run["requests_per_s"] for run in runs),
        "p50_ms": statistics.median(run["p50_ms"] for run in runs),
        "p99_ms": max(run["p99_ms"] for run in runs),
        "non_2xx": sum(run["non_2xx"] for run in runs),
        "socket_errors": [run["socket_errors"] for run in runs if run["socket_errors"]],
    }


def main() -> None:
    options = _options()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: run `bin/system-packages wrk` (make bench does).")
    reuse = options.reuse and scratch.postgres_exists(DATABASE)
    var_dir = Path(tempfile.gettempdir()) / "isseg-bench-web"
    if not reuse:
        shutil.rmtree(var_dir, ignore_errors=True)
        database_url = scratch.postgres_recreate(DATABASE)
    else:
        database_url = f"{scratch.POSTGRES_SERVER}/{DATABASE}"
    var_dir.mkdir(parents=True, exist_ok=True)
    environment = scratch.server_environment(
        database_url=database_url, var_dir=var_dir, pki_port=scratch.free_port()
    )
    scratch.django_setup(environment)
    from django.db import connections

    gunicorn = None
    port = scratch.free_port()
    base = f"http://127.0.0.1:{port}"
    log = var_dir / "gunicorn.log"
    try:
        seed(reuse)
        measured = pages()
        connections.close_all()
        gunicorn = start_gunicorn(environment, port, log)
        print(
            f"gunicorn on {base} (gunicorn.conf.py, log {log}); load average "
            f"{os.getloadavg()[0]:.1f}",
            flush=True,
        )
        hello = f"{base}/bench/hello/"
        for page in measured:
            check_page(base, page)
            # Warm-up: every worker captures the template-only context and fills its caches.
            for url in (base + page.path, template_url(base, page)):
                wrk(url, page.cookie, duration=2, options=options)
        wrk(hello, None, duration=2, options=options)
        for round_number in range(1, options.rounds + 1):
            for page in measured:
                for variant, url, cookie in (
                    ("page", base + page.path, page.cookie),
                    ("template_only", template_url(base, page), page.cookie),
                    ("hello", hello, None),
                ):
                    run = wrk(url, cookie, duration=options.duration, options=options)
                    page.runs.setdefault(variant, []).append(run)
                    print(
                        f"  round {round_number} {page.name} [{variant}]: "
                        f"{run['requests_per_s']:.0f} req/s, p50 {run['p50_ms']:.1f} ms, "
                        f"p99 {run['p99_ms']:.1f} ms, non-2xx {run['non_2xx']}",
                        flush=True,
                    )
    finally:
        if gunicorn is not None:
            stop_gunicorn(gunicorn)
        connections.close_all()
        if not options.keep:
            scratch.postgres_drop(DATABASE)
            shutil.rmtree(var_dir, ignore_errors=True)
    figures = report(measured, options)
    if options.json:
        Path(options.json).write_text(json.dumps(figures, indent=2))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def report(measured: list[Page], options) -> dict:
    figures = {
        "duration_s": options.duration,
        "rounds": options.rounds,
        "connections": options.connections,
        "ratio_target": RATIO_TARGET,
        "p99_target_ms": P99_TARGET_MS,
        "pages": [],
    }
    print(
        f"\n{'page':<36} {'req/s':>7} {'p50':>7} {'p99':>7} | {'tmpl req/s':>10} "
        f"{'hello req/s':>11} | {'page/tmpl':>9} {'page/hello':>10}"
    )
    for page in measured:
        variants = {variant: summary(runs) for variant, runs in page.runs.items()}
        main_figures = variants["page"]
        item = {
            "name": page.name,
            "path": page.path,
            **variants,
            "ratio_template": _ratio(
                main_figures["requests_per_s"], variants["template_only"]["requests_per_s"]
            ),
            "ratio_hello": _ratio(
                main_figures["requests_per_s"], variants["hello"]["requests_per_s"]
            ),
        }
        figures["pages"].append(item)
        print(
            f"{page.name:<36} {main_figures['requests_per_s']:7.0f} "
            f"{main_figures['p50_ms']:5.1f}ms {main_figures['p99_ms']:5.1f}ms | "
            f"{variants['template_only']['requests_per_s']:10.0f} "
            f"{variants['hello']['requests_per_s']:11.0f} | {item['ratio_template']:9.2f} "
            f"{item['ratio_hello']:10.2f}"
        )
    return figures


if __name__ == "__main__":
    main()
