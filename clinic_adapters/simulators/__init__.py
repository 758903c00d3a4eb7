"""Reference record-system simulators: real local servers the adapters and the demo talk to."""
