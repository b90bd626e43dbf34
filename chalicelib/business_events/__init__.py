"""Event messages (C9, T10): the back office says what happened; Pregón decides who hears about it."""
