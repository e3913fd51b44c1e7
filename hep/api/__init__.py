"""The JSON API under /api/v1/, validated and documented by the same pydantic models."""
