"""The operator dashboard (``firesight dashboard``): live devices, thermal frames, SCD41 and
probability charts, alerts with acknowledge / resolve. Vanilla JavaScript, no CDN.

See ``docs/operations.md``.
"""
