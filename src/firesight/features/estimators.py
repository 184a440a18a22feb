"""Former name of :mod:`firesight.features.timeseries` (Theil-Sen slope, Welch power
spectrum), kept while :mod:`firesight.features.gas` still imports it from here."""

from firesight.features.timeseries import _theil_sen_kernel, theil_sen_slope, welch_psd

__all__ = ["_theil_sen_kernel", "theil_sen_slope", "welch_psd"]
