"""Pregón: customer communications for the business software of small companies."""
