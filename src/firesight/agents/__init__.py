"""The online agents: monitoring, analysis, response, learning and the coordinator.

Agents talk only through MQTT topics and the durable queue (:class:`firesight.ports.MessageQueue`);
the message types they exchange are in :mod:`firesight.agents.events`.
"""
