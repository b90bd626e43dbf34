"""Producers: the "decide" step of the one flow, one package or module per capability that
decides what to send (tracking alerts, event messages, manual sends, SMS replies)."""
