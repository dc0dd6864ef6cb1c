"""`evaluate` keeps each ledger's last standing: what it returns must be what working it
out afresh returns, at any instant of the term (`when_class` holds all it reads of now)."""

from __future__ import annotations

import itertools
import pickle
from dataclasses import fields, replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from idlbot.domain import standing_keep
from idlbot.domain.person import YOU, about
from idlbot.domain.presenters import presenting_classes
from idlbot.domain.qualification import _evaluate, evaluate, when_class
from tests.unit.test_overview import synthetic
from tests.unit.test_qualification_support import make_course

PLAIN = make_course(9)
PRESENTING = replace(PLAIN, rules=replace(PLAIN.rules, presenting=True))
START = datetime.combine(PLAIN.start, datetime.min.time(), PLAIN.tz) - timedelta(days=7)
END = datetime.combine(PLAIN.end, datetime.min.time(), PLAIN.tz) + timedelta(days=7)
# every deadline and class start, and one microsecond either side: where the class changes
TICK = timedelta(microseconds=1)
CHANGES = [a.due for a in PLAIN.assignments] + [m.start for m in presenting_classes(PRESENTING)]
EDGES = sorted({at + d for at in CHANGES for d in (-TICK, timedelta(0), TICK)})
LEDGERS = synthetic(40, PLAIN)
INSTANTS = st.one_of(
    st.sampled_from(EDGES),
    st.datetimes(min_value=START.replace(tzinfo=None), max_value=END.replace(tzinfo=None)).map(
        lambda d: d.replace(tzinfo=PLAIN.tz)
    ),
)


@settings(max_examples=150, deadline=None)
@given(first=INSTANTS, then=INSTANTS, presenting=st.booleans(), staff=st.booleans())
def test_a_kept_standing_is_the_one_worked_out_afresh(
    first: datetime, then: datetime, presenting: bool, staff: bool
) -> None:
    course = PRESENTING if presenting else PLAIN
    person = about("alice") if staff else YOU
    for ledger in LEDGERS[:8]:
        evaluate(ledger, course, now=first, person=person)  # kept, perhaps for `then` too
        fresh = _evaluate(ledger, course, then, (), person)
        assert evaluate(ledger, course, now=then, person=person) == fresh


def test_the_same_class_means_the_same_standing_across_the_term() -> None:
    """Hour by hour over the term: wherever two instants share a class, every ledger's
    standing is the same at both (computed afresh, nothing kept)."""
    for course in (PLAIN, PRESENTING):
        seen: dict[tuple[object, ...], datetime] = {}
        at = START
        while at < END:
            seen.setdefault(when_class(course, at), at)
            earlier = seen[when_class(course, at)]
            if earlier != at:
                for ledger in LEDGERS[::5]:
                    here = _evaluate(ledger, course, at, (), YOU)
                    assert here == _evaluate(ledger, course, earlier, (), YOU)
            at += timedelta(hours=5)


def test_a_new_copy_of_a_ledger_is_worked_out_again() -> None:
    ledger = LEDGERS[0]
    now = PLAIN.assignments[3].due
    kept = evaluate(ledger, PLAIN, now=now)
    assert evaluate(ledger, PLAIN, now=now) is kept
    copy = replace(ledger, hand_ins=())  # what a write and a fresh read give
    assert evaluate(copy, PLAIN, now=now) == _evaluate(copy, PLAIN, now, (), YOU)
    assert evaluate(copy, PLAIN, now=now) is not kept


def test_the_kept_standings_are_bounded() -> None:
    """Even while more ledgers than `KEEP` live (each standing goes with its ledger, so
    only live ones count)."""
    now = PLAIN.assignments[3].due
    alive = [replace(LEDGERS[n % len(LEDGERS)]) for n in range(standing_keep.KEEP + 10)]
    for ledger in alive:
        evaluate(ledger, PLAIN, now=now)
    assert len(standing_keep._kept) <= standing_keep.KEEP


def test_at_each_edge_the_class_changes_exactly_when_the_standing_can() -> None:
    """Just before, at and just after every deadline and class start: two neighbouring
    instants share a class only if every ledger's standing is the same at both."""
    for course in (PLAIN, PRESENTING):
        for before, after in itertools.pairwise(EDGES):
            if when_class(course, before) != when_class(course, after):
                continue
            for ledger in LEDGERS:
                earlier = _evaluate(ledger, course, before, (), YOU)
                assert earlier == _evaluate(ledger, course, after, (), YOU), (before, after)


def test_a_course_hashes_as_its_fields_once_and_pickles_without_the_cache() -> None:
    course = replace(PLAIN)
    assert hash(course) == hash(tuple(getattr(course, f.name) for f in fields(course)))
    assert course == PLAIN and hash(course) == hash(PLAIN)
    again = pickle.loads(pickle.dumps(course))
    assert "_hash" not in vars(again) and again == course and hash(again) == hash(course)


def test_two_copies_of_a_course_of_700_stay_kept() -> None:
    """A bot holds two copies of each student's ledger: the student's own (`/idl status`)
    and the whole course's (overviews, the routines). When at most 1 024 standings were
    kept and the keep started over when full, a course of more than 512 students had
    every standing worked out again after each overview (the benchmark's 500 filled it
    to 1 020)."""
    now = PLAIN.assignments[3].due
    size = 700
    own = [replace(LEDGERS[n % len(LEDGERS)]) for n in range(size)]
    whole = [replace(ledger) for ledger in own]
    first = {id(ledger): evaluate(ledger, PLAIN, now=now) for ledger in own}
    for ledger in whole:
        evaluate(ledger, PLAIN, now=now)
    assert all(evaluate(ledger, PLAIN, now=now) is first[id(ledger)] for ledger in own)


def test_a_standing_is_let_go_with_its_ledger() -> None:
    """A write replaces a copy; the standing worked out for the old one goes with it,
    instead of staying until the kept standings are full."""
    now = PLAIN.assignments[3].due
    copies = [replace(ledger) for ledger in LEDGERS]
    for ledger in copies:
        evaluate(ledger, PLAIN, now=now)
    held = len(standing_keep._kept)
    del ledger
    copies.clear()
    assert len(standing_keep._kept) == held - len(LEDGERS)
