"""Getting messages out.

- `outbox.py`: who gets which message (one row per recipient, written with the alert;
  a code or link is a row of its own, written by the request that asks for it), the
  provider's delivery reports, counts and retention.
- `worker.py`: the delivery worker, a round of three stages (claim, send, record) sharing
  a `pipeline.Pipeline`; `claims.py` is its side of the outbox (claim under a lease,
  hand back, record outcomes), `compose.py` turns claims into messages, `pacing.py`
  paces sends and times retries.
- `verdict.py`: what a provider says about a number (opted out, unreachable), from a
  send or a delivery report.
- `providers.py`: Twilio SMS, SMTP email and a console stand-in; `messenger.py` says
  which channels are offered.
"""
