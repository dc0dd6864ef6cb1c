"""`domain/when.py`: the formats staff type after `/idl remind add`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from idlbot.domain.errors import UserError
from idlbot.domain.when import FORMATS, TooFarAhead, WhenError, latest, parse, parse_prefix
from tests.support.foreign import HOSTILE, assert_safe

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2018, 10, 22, 9, 0, tzinfo=BERLIN)  # Monday


def b(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("text", "kind", "first"),
    [
        ("tue 10:00", "once", b(2018, 10, 23, 10)),
        ("Tuesday 10:00", "once", b(2018, 10, 23, 10)),
        ("mon 08:00", "once", b(2018, 10, 29, 8)),  # today's 08:00 has passed: next week
        ("mon 10:00", "once", b(2018, 10, 22, 10)),
        ("2018-10-23 10:00", "once", b(2018, 10, 23, 10)),
        ("today 15:30", "once", b(2018, 10, 22, 15, 30)),
        ("tomorrow 09:00", "once", b(2018, 10, 23, 9)),
        ("weekly tue 10:00", "weekly", b(2018, 10, 23, 10)),
        ("every fri 11:00", "weekly", b(2018, 10, 26, 11)),
    ],
)
def test_wall_clock_forms(text: str, kind: str, first: datetime) -> None:
    when = parse(text, now=NOW, tz=BERLIN)
    assert (when.kind, when.first) == (kind, first)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("in 2h", timedelta(hours=2)),
        ("in 90m", timedelta(minutes=90)),
        ("in 1d", timedelta(days=1)),
        ("in 1h30m", timedelta(minutes=90)),
        ("in 45min", timedelta(minutes=45)),
    ],
)
def test_relative_forms_are_absolute_time(text: str, delta: timedelta) -> None:
    assert parse(text, now=NOW, tz=BERLIN).first == NOW + delta


def test_a_weekday_across_the_autumn_dst_change_keeps_its_wall_clock() -> None:
    now = b(2018, 10, 26, 12)  # Friday, CEST; next Tuesday is CET
    when = parse("tue 12:00", now=now, tz=BERLIN)
    assert when.first == b(2018, 10, 30, 12)
    assert when.first.tzname() == "CET"


def test_in_1d_across_dst_is_24_real_hours() -> None:
    now = b(2018, 10, 27, 12)
    assert parse("in 1d", now=now, tz=BERLIN).first.astimezone(BERLIN).hour == 11


def test_prefix_returns_the_rest() -> None:
    when, rest = parse_prefix("weekly tue 10:00 questions Two hours left", now=NOW, tz=BERLIN)
    assert when.kind == "weekly" and rest == "questions Two hours left"
    when, rest = parse_prefix("in 2h ~town-square Coffee", now=NOW, tz=BERLIN)
    assert rest == "~town-square Coffee"


@pytest.mark.parametrize(
    "text", ["", "soon", "tue", "tue 25:00", "2018-02-30 10:00", "in 2 hours", "next week"]
)
def test_errors_name_every_format(text: str) -> None:
    with pytest.raises(WhenError) as err:
        parse(text, now=NOW, tz=BERLIN)
    assert FORMATS in str(err.value)
    for example in ("tue 10:00", "2018-10-23 10:00", "in 2h", "tomorrow 09:00", "weekly tue 10:00"):
        assert example in str(err.value)


def test_past_times_are_refused() -> None:
    with pytest.raises(UserError, match="in the past"):
        parse("2018-10-01 10:00", now=NOW, tz=BERLIN)


TERM_END = date(2019, 2, 8)


@pytest.mark.parametrize(
    "text",
    ["in 99999999d", "in 99999999999999999999m", "in " + "9" * 5000 + "d", "9999-12-31 23:59", "in 600d"],
)
def test_times_after_a_year_past_the_term_are_refused_naming_the_limit(text: str) -> None:
    with pytest.raises(TooFarAhead) as caught:
        parse_prefix(f"{text} town-square hi", now=NOW, tz=BERLIN, term_end=TERM_END)
    assert "the latest time I accept is 2020-02-09 23:59 (CET)" in str(caught.value)
    assert FORMATS in str(caught.value)


def test_the_limit_itself_is_accepted_and_a_minute_later_is_not() -> None:
    assert parse("2020-02-09 23:59", now=NOW, tz=BERLIN, term_end=TERM_END).first == b(2020, 2, 9, 23, 59)
    assert latest(NOW, BERLIN, TERM_END) == b(2020, 2, 9, 23, 59)
    with pytest.raises(TooFarAhead):
        parse("2020-02-10 00:00", now=NOW, tz=BERLIN, term_end=TERM_END)


def test_after_the_term_the_limit_is_a_year_from_now() -> None:
    later = datetime(2030, 1, 1, 12, 0, tzinfo=BERLIN)
    assert latest(later, BERLIN, TERM_END) == later + timedelta(days=366)
    assert latest(NOW, BERLIN) == NOW + timedelta(days=366)


@pytest.mark.parametrize("text", ["0001-01-01 00:00", "2018-10-01 10:00", "today 08:00"])
def test_past_dates_are_refused_even_at_the_edge_of_the_calendar(text: str) -> None:
    with pytest.raises(UserError, match="is in the past"):
        parse(text, now=NOW, tz=BERLIN, term_end=TERM_END)


@pytest.mark.parametrize("word", HOSTILE.split())
def test_the_text_echoed_in_an_error_mentions_nobody_and_links_nowhere(word: str) -> None:
    """The refusal quotes what the user typed, and it is posted: the quote is defused."""
    with pytest.raises(WhenError) as caught:
        parse(f"{word} {word}", now=NOW, tz=BERLIN)
    assert_safe(str(caught.value))
