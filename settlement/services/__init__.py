"""Settlement's writes (check, then submit): charging sessions (sessions) and money (billing)."""
