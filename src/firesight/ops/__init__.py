"""Operations: Prometheus metrics, structured logs, alarm rules, the audit trail and API tokens.

``firesight.ops.metrics`` holds the metric objects every part increments;
``firesight.ops.audit.record(action, actor, params)`` writes an audit record.
"""
