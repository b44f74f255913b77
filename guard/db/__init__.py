"""Database code. Every function here is handed a psycopg connection; none reads the environment."""
