"""parse_job_event: a MailProg event is checked once, where it enters, with one message."""

from __future__ import annotations

import pytest

from idlbot.adapters.slurm import mailprog
from idlbot.domain.job_events import InvalidJobEvent, parse_job_event

from .conftest import event


def test_a_plain_job_event() -> None:
    raw = event(42, "ev-1")
    parsed = parse_job_event(raw)
    assert (parsed.id, parsed.job_id, parsed.cluster, parsed.array_task_count) == (
        "ev-1",
        42,
        "idl-gpu",
        None,
    )
    assert parsed.payload == raw  # stored as it came


def test_an_array_event_names_the_array_job_and_its_task_count() -> None:
    env = {"SLURM_ARRAY_JOB_ID": "300", "SLURM_JOB_ID": "304", "SLURM_ARRAY_TASK_COUNT": "5"}
    parsed = parse_job_event(event(304, env=env))
    assert (parsed.job_id, parsed.array_task_count) == (300, 5)


@pytest.mark.parametrize(
    ("raw", "job_id"),
    [
        ({"id": "a", "job_id": "42"}, 42),  # no env at all
        ({"id": "a", "job_id": "x", "env": {"SLURM_JOB_ID": " 43 "}}, 43),  # job_id unusable: env's
        ({"id": "a", "job_id": 44, "env": {"SLURM_JOB_ID": "45"}}, 45),  # a JSON number is not MailProg's
    ],
)
def test_the_job_id_falls_back_to_the_environment(raw: dict[str, object], job_id: int) -> None:
    assert parse_job_event(raw).job_id == job_id


def test_an_event_without_a_cluster_leaves_it_to_the_notifier() -> None:
    assert parse_job_event(event(7, cluster="")).cluster is None


def test_an_event_missing_its_job_id_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidJobEvent, match=r"^event: no numeric job id \(job_id, SLURM_JOB_ID"):
        parse_job_event({"id": "a", "job_id": "", "env": {"SLURM_JOB_ID": "²"}})


def test_every_problem_is_named_in_one_message() -> None:
    with pytest.raises(InvalidJobEvent) as caught:
        parse_job_event({"job_id": "nope", "env": "not an object"})
    assert str(caught.value) == (
        "event: no id; no numeric job id (job_id, SLURM_JOB_ID or SLURM_ARRAY_JOB_ID)"
    )
    with pytest.raises(InvalidJobEvent, match="id longer than 64 characters"):
        parse_job_event(event(1, "x" * 65))


@pytest.mark.parametrize("data", [[1, 2], "event", None, 5])
def test_anything_but_an_object_is_refused(data: object) -> None:
    with pytest.raises(InvalidJobEvent, match="event is not a JSON object"):
        parse_job_event(data)


def test_what_the_mailprog_spools_parses() -> None:
    """The writer and the reader of the event agree: `build_event` under an array's END mail
    (the variables slurmctld sets, nothing else) gives the array job and its task count."""
    environ = {
        "SLURM_CLUSTER_NAME": "idl-gpu", "SLURM_JOB_ID": "304", "SLURM_ARRAY_JOB_ID": "300",
        "SLURM_ARRAY_TASK_COUNT": "5", "SLURM_JOB_MAIL_TYPE": "Ended", "SLURM_JOB_STATE": "COMPLETED",
    }  # fmt: skip
    raw = mailprog.build_event(["-s", "Slurm Array Summary Job_id=300_* (300) Ended", "root"], environ, now=0)
    parsed = parse_job_event(raw)
    assert (parsed.id, parsed.cluster, parsed.job_id, parsed.array_task_count) == (
        raw["id"],
        "idl-gpu",
        300,
        5,
    )
