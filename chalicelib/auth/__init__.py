"""Who is calling: company systems with API keys, staff with JWTs."""
