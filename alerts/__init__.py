"""Everything outbound: alerts to subscribers, and the client check.

- `models.py`, `service.py`, `render.py`: alerts, subscribers and their regions; which
  alerts match whom; how a message is worded.
- `subscriptions/`: subscribing, confirming and leaving (API, pages, one-time codes,
  the SMS keywords).
- `check/`: member sign-in and "has this number been reported?" (API and pages).
- `delivery/`: the outbox, its worker, the providers, and sending a code right away.
- `webhooks.py`: Twilio's inbound SMS and delivery status. `metrics.py`: the figures.

Depends on `app` only.
"""
