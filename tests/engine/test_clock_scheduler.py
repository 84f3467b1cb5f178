"""Time and the event heap: SimClock/WallClock, Scheduler ordering, SimDriver waits
(DESIGN §2.2-2.4)."""
from __future__ import annotations

import threading
import time

import pytest

from kafkalab.clock import DEFAULT_EPOCH_MS, SimClock, WallClock, make_clock
from kafkalab.driver import SimDriver, WallDriver
from kafkalab.scheduler import Scheduler


def make_world(start_ms: int = 0):
    clock = SimClock(start_ms)
    scheduler = Scheduler(clock)
    return clock, scheduler, SimDriver(scheduler, threading.RLock())


# --- clocks ------------------------------------------------------------------------------------


def test_sim_clock_starts_on_a_round_date_and_moves_only_when_driven():
    clock = SimClock()
    assert clock.simulated is True
    assert clock.now_ms() == DEFAULT_EPOCH_MS == 1_767_225_600_000  # 2026-01-01T00:00:00Z
    time.sleep(0.01)
    assert clock.now_ms() == DEFAULT_EPOCH_MS  # real time passing does not move it
    clock.advance_to(DEFAULT_EPOCH_MS + 5)
    clock.advance_to(DEFAULT_EPOCH_MS + 5)  # standing still is allowed
    assert clock.now_ms() == DEFAULT_EPOCH_MS + 5


def test_sim_clock_refuses_to_go_back_and_says_so():
    clock = SimClock(1000)
    with pytest.raises(ValueError, match="cannot go back: 999 < now 1000"):
        clock.advance_to(999)
    assert clock.now_ms() == 1000


def test_wall_clock_is_monotonic_even_if_the_system_clock_steps_back(monkeypatch):
    clock = WallClock()
    assert clock.simulated is False
    first = clock.now_ms()
    assert abs(first - time.time() * 1000) < 1000  # it tells real time
    # The administrator sets the system clock back an hour: now_ms() must not follow.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 3600)
    samples = [clock.now_ms() for _ in range(2000)]
    assert samples[0] >= first
    assert all(b >= a for a, b in zip(samples, samples[1:]))
    time.sleep(0.02)
    assert clock.now_ms() >= samples[-1] + 10  # and it does move with real time


def test_make_clock_names_and_objects():
    assert isinstance(make_clock("sim"), SimClock)
    assert isinstance(make_clock("wall"), WallClock)
    mine = SimClock(42)
    assert make_clock(mine) is mine
    with pytest.raises(ValueError, match="'sim', 'wall' or a Clock"):
        make_clock("fast")


# --- the scheduler -----------------------------------------------------------------------------


def test_entries_run_by_time_then_priority_then_scheduling_order():
    clock, scheduler, _ = make_world()
    ran = []
    scheduler.call_at(20, lambda: ran.append("t20"))
    scheduler.call_at(10, lambda: ran.append("t10 p1 first"), priority=1)
    scheduler.call_at(10, lambda: ran.append("t10 p0 first"))
    scheduler.call_at(10, lambda: ran.append("t10 p1 second"), priority=1)
    scheduler.call_at(10, lambda: ran.append("t10 p0 second"))
    scheduler.call_at(5, lambda: ran.append("t5"), priority=9)
    times = []
    while scheduler.step():
        times.append(clock.now_ms())
    assert ran == ["t5", "t10 p0 first", "t10 p0 second", "t10 p1 first", "t10 p1 second", "t20"]
    assert times == [5, 10, 10, 10, 10, 20]


def test_work_scheduled_by_a_callback_for_now_runs_after_what_was_already_due():
    clock, scheduler, _ = make_world()
    ran = []

    def first():
        ran.append("first")
        scheduler.call_later(0, lambda: ran.append("scheduled by first"))

    scheduler.call_at(0, first)
    scheduler.call_at(0, lambda: ran.append("second"))
    scheduler.run(until_ms=0)
    assert ran == ["first", "second", "scheduled by first"]


def test_a_run_is_deterministic():
    def trace():
        clock, scheduler, _ = make_world()
        out = []

        def tick(name, n):
            out.append((clock.now_ms(), name, n))
            if n < 5:
                scheduler.call_later(n * 7 % 4, lambda: tick(name, n + 1), priority=n % 2)

        for name in "abc":
            scheduler.call_later(3, lambda name=name: tick(name, 0))
        scheduler.run()
        return out

    first, second = trace(), trace()
    assert first == second
    assert len(first) == 18


def test_time_never_goes_back_a_timer_in_the_past_runs_now():
    clock, scheduler, _ = make_world(100)
    seen = []
    scheduler.call_at(50, lambda: seen.append(clock.now_ms()))
    assert scheduler.next_time_ms() == 100
    scheduler.step()
    assert seen == [100]


def test_cancelled_timers_never_run():
    clock, scheduler, _ = make_world()
    ran = []
    keep = scheduler.call_at(10, lambda: ran.append("keep"))
    drop = scheduler.call_at(5, lambda: ran.append("dropped at top"))
    later = scheduler.call_at(10, lambda: ran.append("dropped by a callback"))
    scheduler.call_at(10, lambda: ran.append("dropped by a callback too"))
    drop.cancel()
    # a callback cancels a timer due at the very same time
    scheduler.call_at(7, lambda: later.cancel())
    scheduler.run(until_ms=1000)
    assert ran == ["keep", "dropped by a callback too"]
    assert keep.cancelled  # a timer that ran cannot run again
    keep.cancel()
    assert scheduler.next_time_ms() is None


def test_step_runs_exactly_one_entry_and_reports_an_empty_heap():
    clock, scheduler, _ = make_world()
    ran = []
    for i in range(3):
        scheduler.call_at(10, lambda i=i: ran.append(i))
    assert scheduler.step() is True and ran == [0]
    assert scheduler.step() is True and ran == [0, 1]
    assert scheduler.step() is True and ran == [0, 1, 2]
    assert scheduler.step() is False
    assert clock.now_ms() == 10


def test_is_idle_ignores_background_work_and_cancelled_foreground_work():
    clock, scheduler, _ = make_world()
    assert scheduler.is_idle()
    scheduler.call_later(300_000, lambda: None, background=True)  # a retention check
    assert scheduler.is_idle()
    linger = scheduler.call_later(5, lambda: None)
    assert not scheduler.is_idle()
    # cancelled foreground work buried under earlier background work does not count
    scheduler.call_later(1, lambda: None, background=True)
    linger.cancel()
    assert scheduler.is_idle()
    response = scheduler.call_later(2, lambda: None)
    assert not scheduler.is_idle()
    scheduler.run()  # runs until only background work is left
    assert scheduler.is_idle()
    assert clock.now_ms() == 2
    assert scheduler.next_time_ms() == 300_000  # housekeeping is still scheduled
    assert response.cancelled


def test_run_until_is_inclusive_and_parks_the_clock_there():
    clock, scheduler, _ = make_world()
    ran = []
    scheduler.call_at(10, lambda: ran.append(10))
    scheduler.call_at(20, lambda: ran.append(20))
    scheduler.call_at(21, lambda: ran.append(21))
    scheduler.run(until_ms=20)
    assert ran == [10, 20]
    assert clock.now_ms() == 20
    scheduler.run(until_ms=15)  # a bound in the past moves nothing back
    assert clock.now_ms() == 20
    scheduler.run(until_ms=500)
    assert ran == [10, 20, 21] and clock.now_ms() == 500


def test_run_due_runs_what_is_due_without_moving_the_clock():
    clock, scheduler, _ = make_world(100)
    ran = []
    scheduler.call_at(100, lambda: ran.append("now"))
    scheduler.call_at(101, lambda: ran.append("later"))
    assert scheduler.run_due() == 1
    assert ran == ["now"] and clock.now_ms() == 100


# --- SimDriver.wait_for ------------------------------------------------------------------------


def test_wait_for_returns_at_once_when_the_condition_already_holds():
    clock, scheduler, driver = make_world()
    scheduler.call_later(5, lambda: None)
    assert driver.wait_for(lambda: True, 1000) is True
    assert clock.now_ms() == 0


def test_wait_for_stops_as_soon_as_the_condition_holds():
    clock, scheduler, driver = make_world()
    box = []
    scheduler.call_later(30, lambda: box.append("answer"))
    scheduler.call_later(40, lambda: box.append("too late"))
    assert driver.wait_for(lambda: bool(box), 1000) is True
    assert clock.now_ms() == 30 and box == ["answer"]


def test_wait_for_advances_to_the_timeout_when_nothing_comes():
    clock, scheduler, driver = make_world()
    scheduler.call_later(5000, lambda: None)  # due after the timeout: must not run
    assert driver.wait_for(lambda: False, 1000) is False
    assert clock.now_ms() == 1000
    assert scheduler.next_time_ms() == 5000


def test_wait_for_runs_background_work_that_falls_inside_the_timeout():
    clock, scheduler, driver = make_world()
    checks = []

    def check():
        checks.append(clock.now_ms())
        scheduler.call_later(300, check, background=True)

    scheduler.call_later(300, check, background=True)
    assert driver.wait_for(lambda: False, 1000) is False
    assert checks == [300, 600, 900] and clock.now_ms() == 1000


def test_wait_for_stops_when_idle_instead_of_hanging():
    clock, scheduler, driver = make_world()
    scheduler.call_later(60_000, lambda: None, background=True)
    # Only housekeeping left: an endless wait returns False at once, time stands still.
    assert driver.wait_for(lambda: False, float("inf")) is False
    assert clock.now_ms() == 0
    # stop_when_idle: the same, even with a finite timeout
    assert driver.wait_for(lambda: False, 1000, stop_when_idle=True) is False
    assert clock.now_ms() == 0


def test_wait_for_with_stop_when_idle_still_runs_pending_foreground_work():
    clock, scheduler, driver = make_world()
    ran = []
    scheduler.call_later(10, lambda: ran.append(1))
    scheduler.call_later(20, lambda: ran.append(2))
    assert driver.wait_for(lambda: False, float("inf"), stop_when_idle=True) is False
    assert ran == [1, 2] and clock.now_ms() == 20


def test_sim_driver_advance_runs_everything_on_the_way():
    clock, scheduler, driver = make_world()
    ran = []
    scheduler.call_later(10, lambda: ran.append(clock.now_ms()))
    scheduler.call_later(2000, lambda: ran.append(clock.now_ms()))
    driver.advance(1500)
    assert ran == [10] and clock.now_ms() == 1500


# --- WallDriver --------------------------------------------------------------------------------


def test_wall_driver_runs_due_work_in_real_time_and_cannot_fast_forward():
    clock = WallClock()
    scheduler = Scheduler(clock)
    lock = threading.RLock()
    driver = WallDriver(scheduler, lock)
    try:
        done = []
        started = clock.now_ms()
        with lock:
            scheduler.call_later(30, lambda: done.append(clock.now_ms()))
        assert driver.wait_for(lambda: bool(done), 2000) is True
        assert done[0] - started >= 30
        assert driver.wait_for(lambda: False, 30) is False  # a real timeout
        with pytest.raises(RuntimeError, match="clock='sim'"):
            driver.advance(1000)
    finally:
        driver.close()
