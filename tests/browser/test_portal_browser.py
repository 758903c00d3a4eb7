"""The citizen portal in a real browser (Debian's Chromium, headless), on a desktop and a phone.

The whole flow — log in, find a clinic, accept its terms, book, see it in my bookings, move it,
cancel it — with axe-core (WCAG 2.1 A/AA) on every page, no horizontal scrolling at 360 px, the
keyboard alone, and phone-size screenshots in test-artifacts/screenshots for review.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser_support import (
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_no_horizontal_scroll,
    focus_is_visible,
    focused_text,
    screenshot,
    tab_to,
)

import terms
from clinic_adapters.simulators.riv_soap import RivSoapSimulator
from clinic_adapters.simulators.riv_soap.presets import simple_facility
from clinic_adapters.timezones import utc_now
from hub.models import CaseType, Clinic, ClinicCaseType, ClinicSlotType

pytestmark = [pytest.mark.once, pytest.mark.timeout(120)]

EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
FASTING = "Kom fastande: ät och drick inget utom vatten efter klockan 22 kvällen före."
# The path, not the query: the login page's own URL ends in "?next=/bookings".
MY_BOOKINGS = re.compile(r"^https?://[^/]+/bookings$")


def at(path_pattern: str) -> Any:
    """Match a URL by its path only: query strings such as ?next=/book/kind must not match."""
    return lambda url: re.search(path_pattern, urlsplit(url).path) is not None


FAST = {"deadline_seconds": 1.5, "failure_threshold": 1, "reset_after_seconds": 60, "read_retries": 0}


def _remote_clinic(db, hsa_id: str, name: str, code: str, config: dict) -> Clinic:
    clinic = Clinic(
        hsa_id=hsa_id,
        name=name,
        municipality="Solna",
        street_address="Provgatan 1",
        postal_code="171 00",
        city="Solna",
        phone="08-123 00 00",
        connection="riv-crm-scheduling",
        connection_config={**config, "resilience": FAST},
    )
    db.add(clinic)
    db.flush()
    for case_type in (CaseType.BOOK, CaseType.REBOOK_CANCEL):
        db.add(ClinicCaseType(clinic_id=clinic.id, case_type=case_type, enabled=True))
    names = (
        {"sv": "Provtagning", "en": "Blood test", "de": "Blutabnahme"}
        if code == "PROV"
        else {"sv": "Läkarbesök", "en": "Doctor's appointment", "de": "Arzttermin"}
    )
    db.add(ClinicSlotType(clinic_id=clinic.id, code=code, visible=True, names=names))
    db.commit()
    return clinic


@pytest.fixture
def soap() -> Iterator[RivSoapSimulator]:
    sim = RivSoapSimulator(
        [
            simple_facility(
                "SE2321000016-PROV",
                "Provtagningen Råsunda",
                time_type_id="PROV",
                time_type_name="Provtagning",
                duration_minutes=10,
                start="07:30",
                end="10:00",
                weekdays=EVERY_DAY,
                booking_info=FASTING,
            )
        ],
        weeks=2,
    )
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def region(db, create_clinic) -> dict[str, Any]:
    """Two built-in-calendar clinics (Solna's with terms to accept) and one whose system is down."""
    solna = create_clinic(municipality="Solna")
    points = {
        "sv": ["Avboka senast dagen före, annars debiteras besöket."],
        "en": ["Cancel at the latest the day before, or the visit is charged."],
        "de": ["Sagen Sie spätestens am Vortag ab, sonst wird der Besuch berechnet."],
    }
    version = terms.save_draft(db, solna.hsa_id, "book", points, author_key="anna", now=utc_now())
    terms.approve(db, version, approver_key="bert", now=utc_now())
    db.commit()
    sundbyberg = create_clinic(municipality="Sundbyberg")
    dead = _remote_clinic(
        db,
        "SE2321000016-DEAD",
        "Nedlagda vårdcentralen",
        "LAKARBESOK",
        {"endpoint": "http://127.0.0.1:9/dead", "connect_timeout": 0.5, "read_timeout": 0.5},
    )
    return {"solna": solna, "sundbyberg": sundbyberg, "dead": dead}


def _check(page: Any, axe_source: str | None, shots: Any, name: str | None) -> None:
    """What every page must pass: axe (serious/critical), width; a screenshot at phone size."""
    page.wait_for_load_state("load")
    if axe_source is not None:
        assert_accessible(page, axe_source)
        assert_no_horizontal_scroll(page)
    if name and shots is not None:
        screenshot(page, shots, name)


def _log_in(page: Any) -> None:
    page.goto("/")
    page.locator("#login a[href^='/dev-login']").click()
    page.locator("form[action='/dev-login'] button[type=submit]").click()
    page.wait_for_url(MY_BOOKINGS)


@pytest.mark.parametrize(
    ("viewport", "javascript"),
    [(DESKTOP, True), (PHONE, True), (DESKTOP, False)],
    ids=["desktop", "phone", "desktop-without-javascript"],
)
def test_book_move_and_cancel_in_the_browser(
    viewport, javascript, region, new_page, axe_source, screenshot_dir
) -> None:
    phone = viewport is PHONE
    shots = screenshot_dir if phone else None
    page = new_page(viewport, java_script_enabled=javascript)
    # axe-core needs script: without it the run proves the flow works, the other runs check the pages.
    axe = axe_source if javascript else None
    clinic = region["solna"]

    page.goto("/")
    _check(page, axe, shots, "01-start")
    page.locator("#login a[href^='/dev-login']").click()
    _check(page, axe, shots, "02-test-login")
    page.locator("form[action='/dev-login'] button[type=submit]").click()
    page.wait_for_url(MY_BOOKINGS)
    _check(page, axe, shots, "03-my-bookings-empty")

    # Search by name and municipality, open the clinic card.
    page.goto("/")
    page.fill("#q", "testmottagningen")
    page.select_option("#municipality", "Solna")
    page.locator("form.search button[type=submit]").click()
    page.wait_for_url(re.compile(r"q=testmottagningen"))
    assert page.locator("ul.cards li").count() == 1
    assert "1" in page.locator("p.result-count[role=status]").inner_text()
    _check(page, axe, shots, "04-clinic-search")
    page.get_by_role("link", name=clinic.name).click()
    _check(page, axe, shots, "05-clinic-card")

    # The booking flow: case type → kind of visit → day and time → confirm → confirmation.
    page.locator("main a.button[href$='/book']").click()
    _check(page, axe, shots, "06-case-type")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(at(r"/terms/book"))  # the clinic's terms come before the times
    assert "Avboka senast dagen före" in page.locator("main").inner_text()
    _check(page, axe, shots, "07-terms")
    page.locator("form[action$='/terms/book'] button[type=submit]").click()
    page.wait_for_url(at(r"/book/kind"))
    _check(page, axe, shots, "08-kind-of-visit")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(at(r"/times"))
    _check(page, axe, shots, "09-day-and-time")
    days = page.locator("a.day")
    if javascript:
        page.evaluate("() => { window.stillTheSamePage = true; }")
    chosen_day = days.nth(3).inner_text()
    days.nth(3).click()  # with JavaScript the day is swapped in place and announced
    page.wait_for_url(re.compile(r"day="))
    status = page.locator("#times-status")
    page.locator("a.day.chosen").wait_for()
    assert page.locator("a.day.chosen").inner_text() == chosen_day
    assert re.search(r"\d+", status.inner_text())
    if javascript:
        assert page.evaluate("() => window.stillTheSamePage === true")  # no page load
        assert page.evaluate("() => document.activeElement.id") == "times"  # focus moved to the times
    first_time = page.locator("input[name=slot]").first
    first_label = page.locator("ul.times label").first.inner_text()
    first_time.check()
    page.locator("#times button[type=submit]").click()
    page.wait_for_url(at(r"/confirm"))
    _check(page, axe, shots, "10-confirm")
    page.locator("form.confirm-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"confirmed=1"))
    assert page.locator("p.notice[role=status]").is_visible()
    assert first_label.split()[0] in page.locator("dl.summary").inner_text()
    assert page.locator("p.deadline").inner_text()  # the cancellation deadline is shown
    _check(page, axe, shots, "11-confirmation")

    # The calendar file, in the clinic's zone.
    ics = page.request.get(page.locator("a[href$='calendar.ics']").get_attribute("href"))
    assert ics.ok and ics.headers["content-type"].startswith("text/calendar")
    assert "TZID=Europe/Stockholm" in ics.text() and "BEGIN:VTIMEZONE" in ics.text()

    # My bookings → move to another time.
    page.locator("nav a[href='/bookings']").click()
    assert page.locator("ul.cards li.card").count() == 1
    _check(page, axe, shots, "12-my-bookings")
    page.locator("a[href$='/rebook']").click()
    page.wait_for_url(at(r"/rebook"))
    _check(page, axe, shots, "13-move-choose-time")
    page.locator("a.day").nth(4).click()  # past the cancellation deadline of 24 hours
    page.wait_for_url(re.compile(r"day="))
    page.locator("input[name=slot]").nth(1).check()
    page.locator("#times button[type=submit]").click()
    page.wait_for_url(at(r"/rebook/confirm"))
    _check(page, axe, shots, "14-move-confirm")
    page.locator("form.confirm-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"moved=1"))
    assert page.locator("p.notice[role=status]").is_visible()

    # Cancel, with a confirmation step.
    page.locator("a[href$='/cancel']").click()
    _check(page, axe, shots, "15-cancel")
    page.locator("form[action$='/cancel'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"cancelled=1"))
    assert page.locator("ul.cards li.card").count() == 0
    assert page.locator("ul.past li").count() == 1
    _check(page, axe, shots, "16-my-bookings-cancelled")


def test_first_free_times_name_the_clinic_that_could_not_answer(
    region, new_page, axe_source, screenshot_dir
) -> None:
    page = new_page(PHONE)
    page.goto("/search")
    _check(page, axe_source, screenshot_dir, "20-first-free-times")
    page.select_option("#slot_type", "LAKARBESOK")
    page.locator("form.search button[type=submit]").click()
    page.wait_for_url(re.compile(r"slot_type=LAKARBESOK"))
    answers = page.locator("li.card.status-unavailable")
    assert answers.count() == 1 and region["dead"].name in answers.inner_text()
    assert page.locator("li.card.status-ok").count() == 2
    summary = page.locator("p.result-count[role=status]").inner_text()
    assert "3" in summary and "1" in summary
    _check(page, axe_source, screenshot_dir, "21-first-free-times-results")


def test_record_system_message_profile_and_errors_pass_axe(
    db, soap, new_page, axe_source, screenshot_dir
) -> None:
    clinic = _remote_clinic(db, "SE2321000016-PROV", "Provtagningen Råsunda", "PROV", soap.adapter_config())
    page = new_page(PHONE)
    _log_in(page)
    page.goto(f"/clinics/{clinic.hsa_id}/times?slot_type=PROV")
    page.locator("#times button[type=submit]").click()
    page.locator("form.confirm-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"confirmed=1"))
    assert FASTING in page.locator("section.message").inner_text()
    _check(page, axe_source, screenshot_dir, "30-confirmation-with-message")
    page.goto("/profile")
    _check(page, axe_source, screenshot_dir, "31-profile")
    page.goto(f"/clinics/{clinic.hsa_id}/times?slot_type=PROV&from=2001-01-01")
    assert page.locator("#from[aria-invalid=true]").count() == 1
    _check(page, axe_source, None, None)
    page.goto("/no-such-page")
    _check(page, axe_source, screenshot_dir, "32-not-found")
    page.goto("/")
    page.select_option("#lang", "en")
    page.locator("form.language button[type=submit]").click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Book, move or cancel a visit"
    for language in ("en", "de"):
        other = new_page(PHONE, locale=language)
        other.goto(f"/clinics/{clinic.hsa_id}")
        assert other.locator("html").get_attribute("lang") == language
        _check(other, axe_source, None, None)


def test_axe_really_runs_and_reports(new_page, axe_source) -> None:
    # A page with known violations: a passing accessibility check must mean something.
    page = new_page(PHONE)
    page.set_content("<html><body><img src='x.png'><input type='text'></body></html>")
    from browser_support import axe_violations

    assert {"image-alt", "html-has-lang"} <= {v["id"] for v in axe_violations(page, axe_source)}


def test_the_booking_flow_works_with_the_keyboard_alone(region, new_page) -> None:
    page = new_page(DESKTOP)
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.classList.contains('skip')")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")  # the skip link lands in main
    tab_to(page, r"^Test")
    page.keyboard.press("Enter")
    page.wait_for_url(at(r"/dev-login"))
    _tab_to_selector(page, "form[action='/dev-login'] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(MY_BOOKINGS)

    clinic = region["solna"]
    page.goto("/")
    tab_to(page, re.escape(clinic.name))
    page.keyboard.press("Enter")
    page.wait_for_url(at(r"/clinics/"))
    _tab_to_selector(page, "main a.button[href$='/book']")
    page.keyboard.press("Enter")
    page.wait_for_url(at(r"/book$"))
    _tab_to_selector(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(at(r"/terms/book"))
    _tab_to_selector(page, "form[action$='/terms/book'] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(at(r"/book/kind"))
    _tab_to_selector(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(at(r"/times"))
    _tab_to_selector(page, "a.day:not(.chosen)")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"day="))
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'times'")
    _tab_to_selector(page, "input[name=slot]")
    page.keyboard.press("ArrowDown")  # radio groups move with the arrow keys
    chosen = page.evaluate("() => document.activeElement.labels[0].innerText")
    _tab_to_selector(page, "#times button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(at(r"/confirm"))
    _tab_to_selector(page, "form.confirm-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"confirmed=1"))
    assert chosen.split()[0] in page.locator("dl.summary").inner_text()


def _tab_to_selector(page: Any, selector: str, limit: int = 80) -> None:
    """Tab until an element matching ``selector`` has focus; every stop must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert focus_is_visible(page), f"no visible focus on {focused_text(page)!r} at {page.url}"
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")
