"""Subscribing, confirming and leaving: the service, its API and pages, one-time codes,
and the SMS keywords."""
