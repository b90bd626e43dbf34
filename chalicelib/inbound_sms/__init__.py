"""Inbound SMS (I1, I2): two-way messages arriving over SNS, keyword auto-replies, STOP / HELP."""
