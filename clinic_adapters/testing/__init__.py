"""The vendor conformance kit: does an adapter keep the clinic adapter contract?

Run it against your endpoint with one command (no pytest needed)::

    python -m clinic_adapters.testing --adapter riv-crm-scheduling \\
        --config '{"endpoint": "https://journal.example/scheduling"}' \\
        --clinic SE2321000016-1hz5 --time-type 10 [--timezone Europe/Stockholm]

or make it part of your test suite: a few stub classes overriding the fixtures
(see :mod:`clinic_adapters.testing.suite`)::

    from clinic_adapters.testing.suite import ConformanceTests

    class TestMyTimebook(ConformanceTests):
        @pytest.fixture
        def adapter(self):
            return MyAdapter(endpoint="http://127.0.0.1:8080")

        @pytest.fixture
        def clinic(self):
            return ClinicRef("SE2321000016-1hz5")

        @pytest.fixture
        def time_type_id(self):
            return "10"

Both forms run the same checks (:data:`CHECKS`), grouped as availability, booking,
double_booking (idempotency), cancellation, rebooking, error_mapping and timezones. Checks an
adapter declares unsupported in its ``capabilities`` are skipped, and the report says which and
why: a skip is something the run did not prove. The kit books and cancels real times with
Swedish *test* personal numbers, so point it at a test system, never at production.

:data:`KIT_VERSION` starts with the contract version it checks (``CONTRACT_VERSION``).
"""

from clinic_adapters.testing.checks import CHECKS, GROUPS, Check, checks_in
from clinic_adapters.testing.context import CheckFailed, CheckSkipped, KitContext, dst_days, expect
from clinic_adapters.testing.requirements import CAPABILITY_FLAGS, KIT_FLAGS, Requirements
from clinic_adapters.testing.runner import CheckResult, KitReport, Verdict, run_check, run_kit
from clinic_adapters.testing.subjects import SubjectFactory, swedish_test_personal_numbers
from clinic_adapters.testing.version import KIT_CONTRACT_VERSION, KIT_VERSION

__all__ = [
    "CAPABILITY_FLAGS",
    "CHECKS",
    "GROUPS",
    "KIT_CONTRACT_VERSION",
    "KIT_FLAGS",
    "KIT_VERSION",
    "Check",
    "CheckFailed",
    "CheckResult",
    "CheckSkipped",
    "KitContext",
    "KitReport",
    "Requirements",
    "SubjectFactory",
    "Verdict",
    "checks_in",
    "dst_days",
    "expect",
    "run_check",
    "run_kit",
    "swedish_test_personal_numbers",
]
