"""The kept-alive HTTP connections an adapter's calls to its record system share (SOAP and FHIR).

urllib3's pool directly: requests' and httpx's per-request work was a third or more of the
client's CPU per call, and a federated search makes a hundred calls under one GIL.
"""

from __future__ import annotations

import certifi
import urllib3

#: Kept-alive connections per record-system address, as requests' and httpx's defaults keep.
CONNECTIONS_PER_HOST = 10


def connection_pool() -> urllib3.PoolManager:
    """A pool for one connection's calls: certificates checked, never retried behind our back."""
    return urllib3.PoolManager(
        num_pools=8,
        maxsize=CONNECTIONS_PER_HOST,
        retries=False,
        cert_reqs="CERT_REQUIRED",
        ca_certs=certifi.where(),
    )
