"""Records: the history (H1), the client register (H2), inbound mail (I3), exports."""
