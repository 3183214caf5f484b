"""Context construction and validation."""

from __future__ import annotations

import pytest

from server.engine import MailboxContext, Threshold, default_context


def test_default_context_normalises_addresses_and_domains():
    ctx = default_context(" Rep@Acme.COM ", aliases=["Rita@Acme-Sales.io", ""])
    assert ctx.rep_addresses == frozenset({"rep@acme.com", "rita@acme-sales.io"})
    assert ctx.internal_domains == frozenset({"acme.com"})
    assert ctx.timezone == "UTC"


def test_explicit_internal_domains_are_cleaned():
    ctx = default_context("rep@acme.com", internal_domains=["@Acme.com", " acme-group.DE ", ""])
    assert ctx.internal_domains == frozenset({"acme.com", "acme-group.de"})


def test_hand_built_context_is_normalised_too():
    ctx = MailboxContext(frozenset({"REP@ACME.COM"}), frozenset({"ACME.COM"}))
    assert ctx.is_internal("rep@acme.com")
    assert ctx.is_internal("Sam@Acme.com")
    assert not ctx.is_internal("sam@acme.com.evil.io")


def test_holiday_country_is_upper_cased():
    assert default_context("r@a.io", holiday_country="us").holiday_country == "US"


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"timezone": "Mars/Olympus_Mons"}, "time zone"),
        ({"timezone": ""}, "time zone"),
        ({"timezone": "../../etc/passwd"}, "time zone"),
        ({"holiday_country": "XX"}, "holiday calendar"),
        ({"holiday_country": "DE", "holiday_subdiv": "ZZ"}, "holiday calendar"),
        ({"holiday_subdiv": "BY"}, "holiday country"),
    ],
)
def test_bad_context_settings_raise_clear_value_errors(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        default_context("rep@acme.com", **kwargs)


@pytest.mark.parametrize("address", ["", "rep", "@acme.com", "rep@"])
def test_rep_address_must_be_an_address(address):
    with pytest.raises(ValueError, match="rep address"):
        default_context(address)


@pytest.mark.parametrize("days", [-1, 1.5, True, "3"])
def test_threshold_rejects_non_whole_days(days):
    with pytest.raises(ValueError, match="threshold"):
        Threshold(days)


def test_threshold_accepts_zero_and_calendar_days():
    assert Threshold(0).days == 0
    assert Threshold(7, calendar_days=True).calendar_days
