"""Replies to inbound SMS (I1, I2): keyword rules, balance answers, tickets, STOP/START/HELP."""
