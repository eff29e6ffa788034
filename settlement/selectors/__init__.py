"""Settlement's reads for pages and the API: charging sessions (sessions) and money (billing)."""
