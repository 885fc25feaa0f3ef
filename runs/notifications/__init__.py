"""Alert rules -> outbox -> email and webhooks.

`outbox` writes notifications when a run's status changes (called by
runs.status.transition, in its transaction) and when a periodic scan finds
runs running too long or silent; `sender` delivers them; `messages` builds
what is sent; `mailbox` is the file email backend of the embedded setup.
"""
