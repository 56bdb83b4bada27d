"""Hub faults: every kind of outage is retried, then reported as "could not verify".

Prints, per fault, how many requests reached the fake Hub and how long validation
took, so the README's Reliability figures come from a run.
"""

from __future__ import annotations

import time

import pytest

from shlepa.config import HubRetry, ValidationSettings
from shlepa.records.request import new_request, save_request
from shlepa.submission.checklist import Outcome
from shlepa.submission.hub import CouldNotVerify, Hub
from shlepa.submission.validate import Options, validate_paths

ATTEMPTS = 3


@pytest.mark.parametrize("kind", ["500", "429", "slow", "drop"])
def test_every_hub_fault_is_retried_then_could_not_verify(fake_hub, board, kind, capsys):
    request = new_request("org/good", fake_hub.repos["org/good"].sha, "bfloat16", "pretrained", "apache-2.0", "alice")
    path = save_request(request, board)
    fake_hub.slow_s = 1.0
    fake_hub.set_outage(kind)
    settings = ValidationSettings(
        hub_retry=HubRetry(attempts=ATTEMPTS, base_delay_s=0.05, max_delay_s=0.1, timeout_s=0.4)
    )
    before = len(fake_hub.requests)
    t0 = time.perf_counter()
    checklist = validate_paths(
        board, [path], Options(settings=settings, hub=Hub(endpoint=fake_hub.endpoint, retry=settings.hub_retry))
    )
    seconds = time.perf_counter() - t0
    hits = len(fake_hub.requests) - before

    assert not checklist.ok
    assert not checklist.by(Outcome.failed), [c.line() for c in checklist.by(Outcome.failed)]
    unverified = checklist.by(Outcome.unverified)
    assert unverified and all("could not verify" in c.message for c in unverified)
    assert hits >= ATTEMPTS  # the first call was tried again before giving up
    with capsys.disabled():
        print(
            f"\n[hardening] hub fault {kind}: {hits} requests reached the Hub, {len(unverified)} check(s) "
            f"'could not verify', 0 marked as the author's fault, {seconds:.1f} s"
        )


def test_backoff_doubles_up_to_the_cap_then_could_not_verify():
    sleeps: list[float] = []
    calls: list[int] = []

    def down() -> None:
        calls.append(1)
        raise TimeoutError("no answer")

    hub = Hub(
        endpoint="http://127.0.0.1:9",
        retry=HubRetry(attempts=4, base_delay_s=1.0, max_delay_s=3.0),
        sleep=sleeps.append,
    )
    with pytest.raises(CouldNotVerify, match=r"after 4 tries \(TimeoutError\)"):
        hub.call("model info", down)
    assert len(calls) == 4 and sleeps == [1.0, 2.0, 3.0]


def test_errors_that_are_not_outages_are_raised_at_once():
    sleeps: list[float] = []
    hub = Hub(endpoint="http://127.0.0.1:9", retry=HubRetry(attempts=4), sleep=sleeps.append)
    with pytest.raises(ValueError, match="bad"):
        hub.call("model info", lambda: (_ for _ in ()).throw(ValueError("bad")))
    assert sleeps == []
