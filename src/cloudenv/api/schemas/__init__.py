"""Pydantic models of the wire format: what clients send and what they decode."""
