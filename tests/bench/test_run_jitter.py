"""bench.run: tick jitter from two /metrics scrapes inside the measured window, failed setups,
and what a run leaves behind."""

from __future__ import annotations

import argparse

import pytest

from bench.run import capacity, combine, connect_failures, jitter, judge, main, report, table

ARGS = {"players": 4, "spectators": 2, "rate": 20, "warmup": 5.0, "duration": 20.0, "procs": 2}
ARGS |= {"servers": "skirmish", "matches": "100,150,200", "merge": [], "repeat": 1}

B = "skirmish_tick_lateness_seconds_bucket"


def scrape(counts: dict[str, float], overruns: float) -> dict[str, float]:
    return {**{f'{B}{{le="{le}"}}': n for le, n in counts.items()}, "skirmish_tick_overruns_total": overruns}


def test_only_the_window_counts_and_p99_is_the_bucket_bound() -> None:
    before = scrape({"0.001": 50, "0.002": 60, "0.005": 60, "+Inf": 1000}, 40)  # start-up: not in the window
    start = scrape({"0.001": 100, "0.002": 100, "0.005": 100, "+Inf": 1000}, 40)
    # In the window: 1000 tick starts, 985 within 1 ms, 10 more within 2 ms, 5 within 5 ms.
    end = scrape({"0.001": 1085, "0.002": 1095, "0.005": 1100, "+Inf": 2000}, 43)
    got = jitter([(1.0, before), (10.0, start), (20.0, end)], 5.0, 25.0)
    assert got["overruns"] == 3
    got = jitter([(1.0, before), (10.0, start), (20.0, end), (30.0, end)], 9.0, 21.0)
    assert got == {"jitter_p99_ms": 2.0, "late_share": pytest.approx(0.005), "overruns": 3}


def test_no_scrapes_in_the_window_gives_no_figures() -> None:
    assert jitter([(1.0, scrape({"+Inf": 5}, 0))], 5.0, 25.0)["jitter_p99_ms"] is None


def test_a_point_with_a_crashed_load_generator_process_is_not_ok():
    # 200 matches of 6 clients asked; one of two processes crashed during its handshakes.
    run = {"clients": 600, "connect_failures": [], "crashed": ["process 1: HandshakeFailed: ..."]}
    point = {"p99": 2.1, "loss": 0.0, "tick_rate": 20.0, "connect_failures": connect_failures(run, 1200)}
    assert point["connect_failures"] == 600
    assert not judge(point, 20)["ok"]
    assert connect_failures({"clients": 1200, "connect_failures": ["lt00001: refused"]}, 1200) == 1
    assert judge({**point, "connect_failures": connect_failures({"clients": 1200}, 1200)}, 20)["ok"]


def test_the_table_says_how_many_setups_failed():
    base = {"server": "skirmish", "matches": 500, "clients": 3000, "cpu_percent": 100.0, "us_per_frame": 46.0}
    base |= {"rss_mb": 367.0, "p50": 0.1, "p99": 4.9, "loss": 0.0, "tick_rate": 16.6, "bytes_per_client_s": 757.0}
    base |= {"loadgen_cpu_percent": 40.0}
    failed = judge({**base, "connect_failures": 282}, 20)
    passed = judge({**base, "connect_failures": 0, "tick_rate": 20.0}, 20)
    head, _, row_failed, row_passed = table([failed, passed]).splitlines()
    columns = [c.strip() for c in head.strip("|").split("|")]
    at = columns.index("failed setups")
    assert [c.strip() for c in row_failed.strip("|").split("|")][at:] == ["282", "no (late ticks)"]
    assert [c.strip() for c in row_passed.strip("|").split("|")][at:] == ["0", "yes"]


def test_a_stopped_server_leaves_no_copy_of_the_database(tmp_path, monkeypatch):
    """Each point copies the template (WAL and all); a sweep of dozens must not leave them behind."""
    import sqlite3
    from contextlib import closing

    from bench import run

    monkeypatch.setattr(run, "DATA", tmp_path)
    with closing(sqlite3.connect(tmp_path / "template.sqlite3")) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
    server = run.Server("skirmish", 20, tmp_path / "skirmish.log")
    server.database = tmp_path / f"run-{server.port}.sqlite3"
    run.copy_database(tmp_path / "template.sqlite3", server.database)
    with closing(sqlite3.connect(server.database)) as db:  # a server's writes leave -wal and -shm
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("INSERT INTO t VALUES (1)")
        db.commit()
        assert any(path.exists() for path in run.database_files(server.database)[1:])
    server.stop()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["template.sqlite3"]


def test_capacity_stops_at_the_first_failed_point():
    def point(m: int, p99: float, rate: float = 20.0, jitter: float | None = None) -> dict:
        base = {"server": "skirmish", "matches": m, "clients": 6 * m, "cpu_percent": 90.0, "us_per_frame": 40.0}
        base |= {"rss_mb": 200.0, "p50": 0.1, "p99": p99, "loss": 0.0, "tick_rate": rate, "bytes_per_client_s": 980.0}
        base |= {"loadgen_cpu_percent": 40.0, "connect_failures": 0, "jitter_p99_ms": jitter, "overruns": 0}
        base |= {"spectators_supported": True}
        return judge(base, 20)

    # 500 fails on p99 while 600 passes: the capacity is 400, not 600.
    points = [point(300, 5.0), point(400, 6.0, rate=15.0), point(500, 112.7, rate=9.0), point(600, 8.0, rate=5.0)]
    assert capacity(points, "skirmish") == 400
    assert capacity(points, "skirmish", on_time=True) == 300
    assert capacity([point(100, 60.0), point(200, 3.0)], "skirmish") == 0
    assert capacity(points, "colyseus") == 0
    # Tick starts on schedule: the same rule, in the report's line.
    scheduled = [point(100, 1.0, jitter=1.0), point(150, 1.0, jitter=50.0), point(200, 1.0, jitter=2.0)]
    assert "one-process Skirmish only): skirmish 100." in report(scheduled, argparse.Namespace(**ARGS), (0, 0), (0, 0))


def test_repeated_runs_give_medians_and_pass_only_when_every_run_did():
    run = {"server": "skirmish", "matches": 150, "clients": 900, "rss_mb": 176.0, "p50": 0.1, "loss": 0.0}
    run |= {"bytes_per_client_s": 983.0, "loadgen_cpu_percent": 34.0, "connect_failures": 0, "overruns": 0}
    run |= {"spectators_supported": True, "jitter_p99_ms": 2.0}
    runs = [
        judge({**run, "cpu_percent": 65.0, "us_per_frame": 36.0, "p99": 1.0, "tick_rate": 20.0}, 20),
        judge({**run, "cpu_percent": 84.0, "us_per_frame": 47.0, "p99": 62.0, "tick_rate": 20.0}, 20),  # failed
        judge({**run, "cpu_percent": 74.0, "us_per_frame": 41.0, "p99": 1.7, "tick_rate": 18.0}, 20),  # late
    ]
    runs[1] |= {"jitter_p99_ms": 5.0, "overruns": 3}
    point = combine(runs, 20)
    assert (point["cpu_percent"], point["us_per_frame"], point["p99"], point["tick_rate"]) == (74.0, 41.0, 1.7, 20.0)
    assert point["cpu_range"] == [65.0, 84.0]
    two = combine(runs[:2], 20)  # (an even count: bucket bounds and counts are one run's, not averaged)
    assert (two["cpu_percent"], two["jitter_p99_ms"], two["overruns"]) == (74.5, 5.0, 3)
    assert not point["ok"] and not point["on_time"]  # (the medians alone would pass)
    assert judge(dict(point), 20)["ok"] is False  # (as when a saved sweep is merged again)
    row = table([point]).splitlines()[-1]
    assert "| 74 % (65–84) |" in row and row.endswith("| no (late ticks) [3 runs: 2 of 3 ok, 2 of 3 on time] |")
    all_good = combine([runs[0], runs[0]], 20)
    assert all_good["ok"] and all_good["on_time"] and table([all_good]).endswith("| yes [2 runs] |\n")
    assert combine(runs[:1], 20) is runs[0]
    args = argparse.Namespace(**{**ARGS, "repeat": 3})
    assert "median of N runs" in report([point], args, (0.1,), (0.2,))
    assert "median of N runs" not in report(runs[:1], args, (0.1,), (0.2,))


def test_a_repeat_below_one_is_refused_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--servers", "skirmish", "--matches", "10", "--repeat", "0", "--no-docs"])
    assert exited.value.code == 2 and "--repeat must be 1 or more" in capsys.readouterr().err
