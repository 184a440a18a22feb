"""FLIR Lepton 3.5 faults as the device shows them: replaced defective pixels, rows the
replacement missed, and frames torn by a lost VoSPI segment.

- **Defective pixels.** The Lepton's image pipeline replaces the pixels flagged
  defective (at factory calibration or at run time) with a value computed from their
  neighbours [1]; a host never sees a dead pixel as a 0. :func:`replacement_sources`
  gives each defective pixel its good 4-neighbours (or, when all four are bad, the
  nearest good pixel); the device kernel writes their mean.
- **A corrupted row.** A defect the pipeline does not know stays in the image: the real
  Lepton 3.5 frames of ``../shared/real-data/Lepton35_Indoor`` carry one row (row 76, in
  both recordings, 40 min apart) in which about one pixel in ten reads ~10 K high and
  the others up to ~1 K off — a fixed pattern, not noise. :func:`bad_row_offsets_k`
  draws rows of that kind (model assumption for the sizes, shaped after that example).
- **VoSPI segments.** A Lepton 3.x frame travels over VoSPI as 4 segments of 60 packets;
  a packet carries half a video line (80 pixels), so a segment is 30 rows [2]. A host
  that checks segment numbers discards a frame with a lost or out-of-order segment and
  resynchronises (``LeptonFaults.dropped_frame_prob``: ``valid`` False); a host that does
  not shows a torn frame, the quarter of the lost segment still holding the previous
  frame's rows (``LeptonFaults.torn_segment_prob``).

References
----------
1. FLIR Lepton 3.5 engineering datasheet, doc. 500-0771-01-09: image pipeline, defect
   replacement from neighbouring pixels.
2. FLIR Lepton VoSPI: Lepton engineering datasheet §"VoSPI protocol" (Lepton 3.x:
   164-byte packets, 60 packets per segment, 4 segments per frame, segment number in
   packet 20; discard and resynchronise on loss).
"""

from __future__ import annotations

import numpy as np

__all__ = ["VOSPI_SEGMENTS", "VOSPI_ROWS_PER_SEGMENT", "BAD_ROW", "bad_row_offsets_k", "replacement_sources"]

#: Lepton 3.x VoSPI framing [2]: 4 segments per frame, 60 packets of 80 pixels each (30 rows).
VOSPI_SEGMENTS = 4
VOSPI_PACKETS_PER_SEGMENT = 60
VOSPI_PIXELS_PER_PACKET = 80
VOSPI_ROWS_PER_SEGMENT = VOSPI_PACKETS_PER_SEGMENT * VOSPI_PIXELS_PER_PACKET // 160

#: A corrupted row (model assumption, shaped after the real frames' row 76): each pixel
#: keeps an uncorrected offset, normal with ``small_sigma_k``, or with probability
#: ``outlier_prob`` normal with ``outlier_sigma_k``.
BAD_ROW = {"small_sigma_k": 0.7, "outlier_prob": 0.12, "outlier_sigma_k": 8.0}


def replacement_sources(dead: np.ndarray, height_px: int, width_px: int) -> np.ndarray:
    """For each defective pixel (flat index), its good 4-neighbours as flat indices,
    ``-1`` for none; a pixel with no good 4-neighbour gets the nearest good pixel
    (Euclidean, lowest index on ties). Shape (n_dead, 4), int64."""
    dead = np.asarray(dead, dtype=np.int64)
    n_pix = height_px * width_px
    bad = np.zeros(n_pix, dtype=bool)
    bad[dead] = True
    r, c = np.divmod(dead, width_px)
    out = np.full((dead.size, 4), -1, dtype=np.int64)
    for k, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
        rr, cc = r + dr, c + dc
        inside = (rr >= 0) & (rr < height_px) & (cc >= 0) & (cc < width_px)
        q = np.where(inside, rr * width_px + cc, 0)
        ok = inside & ~bad[q]
        out[ok, k] = q[ok]
    lonely = np.flatnonzero((out < 0).all(axis=1))
    if lonely.size:
        good = np.flatnonzero(~bad)
        gr, gc = np.divmod(good, width_px)
        for i in lonely:
            d2 = (gr - r[i]) ** 2 + (gc - c[i]) ** 2
            out[i, 0] = good[int(np.argmin(d2))]
    return out


def bad_row_offsets_k(rng: np.random.Generator, height_px: int, width_px: int, n_rows: int) -> np.ndarray:
    """Fixed offsets [K], flat (height*width,) float32, of ``n_rows`` distinct corrupted
    rows drawn at random (see :data:`BAD_ROW`); zero elsewhere."""
    out = np.zeros((height_px, width_px), dtype=np.float64)
    if n_rows <= 0:
        return out.reshape(-1).astype(np.float32)
    rows = rng.choice(height_px, size=min(int(n_rows), height_px), replace=False)
    small = rng.standard_normal((rows.size, width_px)) * BAD_ROW["small_sigma_k"]
    large = rng.standard_normal((rows.size, width_px)) * BAD_ROW["outlier_sigma_k"]
    outlier = rng.random((rows.size, width_px)) < BAD_ROW["outlier_prob"]
    out[rows] = np.where(outlier, large, small)
    return out.reshape(-1).astype(np.float32)
