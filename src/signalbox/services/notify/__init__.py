"""Notifications: the events of the log delivered to where people are, through Apprise.

- ``targets``: the ``[[notify]]`` targets with their URLs checked and a way to send;
- ``fan_out``: events -> one delivery per target that should hear of each;
- ``delivery``: claim due deliveries, send them in order, settle them (retry, give up);
- ``reminders``: what time alone makes worth telling (a reservation starting soon, an
  incident without an update), written as events;
- ``worker``: the loop in ``signalbox serve`` that runs the three;
- ``admin``: how the targets fare, failed messages, retry, a test message.

The outbox itself (claims, fencing, order per target) is ``storage.repositories.outbox``; the
pure rules (who hears what, the words, the backoff) are ``core.notify``.
"""
