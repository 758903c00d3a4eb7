"""Entry point of ``python -m clinic_adapters.testing`` (see :mod:`clinic_adapters.testing.cli`)."""

import sys

from clinic_adapters.testing.cli import main

sys.exit(main())
