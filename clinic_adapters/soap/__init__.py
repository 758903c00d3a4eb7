"""The RIV-TA ``crm:scheduling`` 1.1 SOAP adapter (registry key ``riv-crm-scheduling``)."""

from clinic_adapters.soap.adapter import RivSchedulingAdapter
from clinic_adapters.soap.personal_data import InvalidSubject
from clinic_adapters.soap.transport import SoapFault

__all__ = ["InvalidSubject", "RivSchedulingAdapter", "SoapFault"]
