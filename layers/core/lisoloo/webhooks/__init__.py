"""Webhooks: aggregate transitions as signed events, delivered to merchants' endpoints."""
