"""Everything outbound: alerts, subscribers, region matching, message rendering,
the delivery outbox and its worker, providers, inbound SMS and the client check.

Depends on `app` only. The alert and subscriber models, message rendering and the
alert service exist; subscriptions, delivery and the client check come in issue 3 of 4.
"""
