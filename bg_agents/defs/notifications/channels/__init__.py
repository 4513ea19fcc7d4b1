"""Channels: how a delivery leaves (in-app rows, e-mail over SMTP, signed webhooks).

Each channel is handed an ``Outgoing`` and either delivers it or raises ``DeliveryError``, saying
whether a retry may help. Scheduling, retries, quiet hours and preferences are the engine's
(``deliver.py``); a channel only talks to the outside world.
"""
