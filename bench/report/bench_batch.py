"""Benchmark of the batch reports as a regional tool uses them: the CPTS of one région in one batch.

Against a running stack (`make run`, or `make up`), through the public gateway:

1. lists the existing CPTS (`GET /api/v1/cpts`, every page) and takes the région with the most of them, its
   first `-n` (27) CPTS of at most `max_communes` communes (a CPTS of more cannot be one report);
2. `POST /api/v1/reports` with one report per CPTS (its communes, its name), then polls the batch every
   `--poll` seconds and downloads each PDF as soon as it is ready, as a client should;
3. prints the total time, the percentiles of each PDF's time to ready (from the POST), of the downloads, and
   the count of every answer that was not a 2xx/304 (503s, 429s, anything else) — the batch is judged on
   "27 PDFs, no 503";
4. with `--sync`, for comparison, sends the same 27 reports at once to the synchronous
   `POST /api/v1/report.pdf` and counts how many are shed (503).

Loopback only, bounded: the batch must be done within `--timeout` seconds. State the load average beside the
figures (printed here, before and after).

    .venv/bin/python bench/report/bench_batch.py --url http://127.0.0.1:8080 [-n 27] [--sync]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import statistics
import sys
import time

import aiohttp


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _line(label: str, values: list[float]) -> str:
    if not values:
        return f"{label}: none"
    return (
        f"{label}: p50 {_pct(values, 0.5):.1f} s, p90 {_pct(values, 0.9):.1f} s, "
        f"max {max(values):.1f} s, mean {statistics.mean(values):.1f} s (n={len(values)})"
    )


async def _cpts(http: aiohttp.ClientSession, url: str) -> list[dict]:
    found: list[dict] = []
    cursor = None
    while True:
        params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
        async with http.get(f"{url}/api/v1/cpts", params=params) as r:
            r.raise_for_status()
            page = await r.json()
        found.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return found


async def _selection(http: aiohttp.ClientSession, url: str, n: int) -> tuple[str, list[dict], int]:
    async with http.get(f"{url}/api/v1/meta") as r:
        max_communes = (await r.json())["limits"]["max_communes"]
    cpts = [c for c in await _cpts(http, url) if 0 < c["commune_count"] <= max_communes]
    by_region: dict[str, list[dict]] = collections.defaultdict(list)
    for c in cpts:
        for region in c["regions"]:
            by_region[region].append(c)
    region, members = max(by_region.items(), key=lambda kv: len(kv[1]))
    return region, members[:n], len(members)


class Tally:
    """Every answer's status, and the ones that were not a success."""

    def __init__(self) -> None:
        self.statuses: collections.Counter[int] = collections.Counter()

    def count(self, status: int) -> None:
        """One more answer of this status."""
        self.statuses[status] += 1

    @property
    def errors(self) -> int:
        """Answers that were neither a success nor a 304."""
        return sum(n for s, n in self.statuses.items() if not (200 <= s < 300 or s == 304))


async def _batch(
    http: aiohttp.ClientSession, url: str, chosen: list[dict], poll_s: float, timeout: float
) -> int:
    tally = Tally()
    reports = [{"communes": c["communes"], "name": c["nom"]} for c in chosen]
    started = time.perf_counter()
    async with http.post(f"{url}/api/v1/reports", json={"reports": reports}) as r:
        tally.count(r.status)
        body = await r.json()
        if r.status != 202:
            print(f"POST /api/v1/reports answered {r.status}: {body}", file=sys.stderr)
            return 1
        location = r.headers["Location"]
    accepted = time.perf_counter() - started
    ready_at: dict[int, float] = {}
    download_s: list[float] = []
    sizes: list[int] = []
    downloads: list[asyncio.Task[None]] = []
    failed: dict[int, dict] = {}

    async def download(item: int, pdf_url: str) -> None:
        t0 = time.perf_counter()
        async with http.get(pdf_url) as resp:
            tally.count(resp.status)
            data = await resp.read()
        if resp.status == 200 and data.startswith(b"%PDF-"):
            download_s.append(time.perf_counter() - t0)
            sizes.append(len(data))

    polls = 0
    while len(ready_at) + len(failed) < len(reports):
        if time.perf_counter() - started > timeout:
            print(f"batch not done after {timeout:.0f} s", file=sys.stderr)
            break
        await asyncio.sleep(poll_s)
        async with http.get(location) as r:
            tally.count(r.status)
            polls += 1
            if r.status != 200:
                continue
            state = await r.json()
        for item in state["items"]:
            i = item["item"]
            if item["state"] == "ready" and i not in ready_at:
                ready_at[i] = time.perf_counter() - started
                downloads.append(asyncio.create_task(download(i, item["url"])))
            elif item["state"] == "failed":
                failed[i] = item["problem"]
    await asyncio.gather(*downloads)
    total = time.perf_counter() - started
    print(f"batch of {len(reports)} reports: accepted (202) in {accepted * 1000:.0f} ms")
    print(f"total: {total:.1f} s until the last PDF was downloaded ({polls} polls every {poll_s:g} s)")
    print(_line("time to ready, from the POST", list(ready_at.values())))
    print(_line("download", download_s))
    if sizes:
        print(f"PDFs: {len(sizes)} downloaded, {statistics.mean(sizes) / 1024:.0f} KiB on average")
    print(
        f"answers: {dict(sorted(tally.statuses.items()))}; 503: {tally.statuses[503]}; errors: {tally.errors}"
    )
    if failed:
        print(f"failed reports: {failed}")
    return 0 if len(sizes) == len(reports) and tally.errors == 0 else 1


async def _sync(http: aiohttp.ClientSession, url: str, chosen: list[dict]) -> None:
    tally = Tally()
    times: list[float] = []

    async def one(c: dict) -> None:
        t0 = time.perf_counter()
        async with http.post(
            f"{url}/api/v1/report.pdf", json={"communes": c["communes"], "name": c["nom"]}
        ) as r:
            await r.read()
            tally.count(r.status)
            if r.status == 200:
                times.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in chosen))
    print(
        f"synchronous, {len(chosen)} at once: {tally.statuses[200]} PDFs, {tally.statuses[503]} shed (503), "
        f"answers {dict(sorted(tally.statuses.items()))}, {time.perf_counter() - started:.1f} s"
    )
    print(_line("synchronous PDF latency", times))


async def main() -> int:
    """Choose the CPTS, run the batch (and the synchronous comparison), print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=os.environ.get("REZONE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("-n", type=int, default=27, help="CPTS in the batch (default 27)")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between polls (default 2)")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument(
        "--sync", action="store_true", help="then the same reports, all at once, synchronously"
    )
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        region, chosen, available = await _selection(http, args.url, args.n)
        communes = [c["commune_count"] for c in chosen]
        print(
            f"région {region}: {available} CPTS of at most max_communes communes, {len(chosen)} taken "
            f"({min(communes)}–{max(communes)} communes, {sum(communes)} in all)"
        )
        code = await _batch(http, args.url, chosen, args.poll, args.timeout)
        print(f"load average after the batch: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.sync:
            await _sync(http, args.url, chosen)
            print(f"load average after the synchronous run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
