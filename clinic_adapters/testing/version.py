"""The kit's version: major.minor is the contract version it checks, the last part its own revision."""

from clinic_adapters.contract import CONTRACT_VERSION

__all__ = ["KIT_CONTRACT_VERSION", "KIT_VERSION"]

#: The contract version these checks were written for; bump both when the contract changes.
KIT_CONTRACT_VERSION = "1.1"
KIT_VERSION = f"{KIT_CONTRACT_VERSION}.0"

if KIT_CONTRACT_VERSION != CONTRACT_VERSION:  # pragma: no cover - caught by the kit's own tests
    import warnings

    warnings.warn(
        f"conformance kit {KIT_VERSION} was written for contract {KIT_CONTRACT_VERSION}, "
        f"but clinic_adapters is at {CONTRACT_VERSION}",
        RuntimeWarning,
        stacklevel=2,
    )
