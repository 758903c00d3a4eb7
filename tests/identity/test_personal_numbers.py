"""Personal identity numbers: validation, canonical form, birth date, age, pseudonyms, redaction."""

from __future__ import annotations

from datetime import date

import pytest

from identity.personal_numbers import (
    Country,
    InvalidPersonalNumber,
    age_on,
    is_valid,
    parse,
    pseudonymise,
    redact,
)

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    "raw",
    ["198001010019", "19800101-0019", "8001010019", "800101-0019", " 19800101-0019 "],
)
def test_swedish_personnummer_forms_normalise_to_twelve_digits(raw):
    number = parse(raw, today=TODAY)
    assert number.value == "198001010019"
    assert number.kind == "personnummer"
    assert number.birth_date == date(1980, 1, 1)


def test_ten_digit_number_takes_the_latest_century_not_in_the_future():
    assert parse("1501010001", today=TODAY).birth_date == date(2015, 1, 1)
    assert parse("150101+0001", today=TODAY).birth_date == date(1915, 1, 1)


def test_samordningsnummer_is_accepted_with_the_real_birth_day():
    # Day 61 = the 1st + 60; Luhn over the 10 digits (stdnum 2.2 rejects these itself).
    from stdnum import luhn

    ten = "800161001" + luhn.calc_check_digit("800161001")
    number = parse("19" + ten, today=TODAY)
    assert number.kind == "samordningsnummer"
    assert number.birth_date == date(1980, 1, 1)


def test_samordningsnummer_with_unknown_birth_day_has_no_birth_date():
    from stdnum import luhn

    ten = "800160001" + luhn.calc_check_digit("800160001")
    number = parse("19" + ten, today=TODAY)
    assert number.kind == "samordningsnummer"
    assert number.birth_date is None and number.age_on(TODAY) is None


@pytest.mark.parametrize(
    "raw",
    [
        "198001010018",  # check digit
        "198001000002",  # day 0 (Luhn-valid) in a personnummer
        "198013010019",  # month 13
        "19800101+0019",  # '+' only in the 10-digit form
        "202801010000",  # born in the future
        "abc",
        "",
        "1" * 40,
    ],
)
def test_invalid_swedish_numbers_are_refused(raw):
    with pytest.raises(InvalidPersonalNumber) as caught:
        parse(raw, today=TODAY)
    assert raw.strip() not in str(caught.value) or not raw.strip()


def test_norwegian_finnish_and_danish_numbers_where_configured():
    everyone = (Country.SE, Country.NO, Country.FI, Country.DK)
    assert parse("15108600036", everyone, today=TODAY).birth_date == date(1986, 10, 15)
    d_number = parse("55108600100", everyone, today=TODAY)
    assert d_number.kind == "d-nummer" and d_number.birth_date == date(1986, 10, 15)
    assert parse("131052-308T", everyone, today=TODAY).birth_date == date(1952, 10, 13)
    assert parse("010115A1239", everyone, today=TODAY).birth_date == date(2015, 1, 1)
    assert parse("2110625629", (Country.DK,), today=TODAY).country is Country.DK


def test_a_country_not_configured_is_refused():
    assert not is_valid("131052-308T", (Country.SE,), today=TODAY)
    assert is_valid("131052-308T", (Country.SE, Country.FI), today=TODAY)


def test_age_counts_whole_years_and_leap_day_birthdays():
    assert age_on(date(2010, 11, 28), TODAY) == 15
    assert age_on(date(2010, 11, 27), TODAY) == 16
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_repr_never_shows_the_number():
    number = parse("198001010019", today=TODAY)
    assert "198001010019" not in repr(number)
    assert "0019" not in str(number)


def test_pseudonym_is_stable_keyed_and_needs_a_real_key():
    key = b"k" * 32
    assert pseudonymise("198001010019", key) == pseudonymise("198001010019", key)
    assert pseudonymise("198001010019", key) != pseudonymise("198001010019", b"j" * 32)
    with pytest.raises(ValueError):
        pseudonymise("198001010019", b"short")


def test_redact_removes_number_shapes_from_free_text():
    text = redact("got 19800101-0019 and 8001010019 and 800101-0019, 131052-308T, id _abc123")
    assert "0019" not in text and "308T" not in text
    assert "_abc123" in text
