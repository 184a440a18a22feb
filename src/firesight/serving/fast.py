"""Fast scoring of a trained detector: the same numbers as the reference path, less overhead.

:class:`CompiledDetector` turns a fitted detector of :mod:`firesight.detection` (Random
Forest, XGBoost, LSTM, and their mean or stacked ensemble) into flat arrays once, then scores
a float matrix of window features without pandas, scikit-learn's per-call validation or
XGBoost's DMatrix construction:

- forests (scikit-learn and XGBoost) are walked by one Numba-compiled loop over rows and
  trees, with each library's own comparison rule: scikit-learn ``x <= threshold`` on the
  float32 value against the float64 threshold, NaN to ``missing_go_to_left``; XGBoost
  ``x < split_condition`` in float32, NaN to ``default_left``, leaf values summed in float32
  from the base margin in tree order;
- the LSTM runs as batched matrix products in NumPy (float32, torch's gate order i, f, g, o).

Results equal the reference path (:meth:`firesight.detection.bundle.DetectorBundle.predict_proba`)
within 1e-6 (``tests/unit/serving/test_fast.py`` checks it).

Sequence inputs. The LSTM member reads the last ``seq_len`` windows ``seq_stride`` apart.
``stream=False`` scores every row on its own: its history is the row itself repeated, as at
the start of a recording (the reference path with one group per row). ``stream=True`` takes
the rows as consecutive windows of one device in time order (the reference path with one
group): each row's LSTM input is built from the rows before it.

References
----------
1. scikit-learn ``sklearn/tree/_tree.pyx`` ``Tree._apply_dense`` (decision rule, NaN routing).
2. XGBoost JSON model schema, ``doc/model.schema`` (``left_children``, ``split_conditions``,
   ``default_left``, ``base_score``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numba
import numpy as np

from firesight.detection._base import DetectorMixin
from firesight.detection.boosting import XGBoostDetector
from firesight.detection.ensemble import EnsembleDetector
from firesight.detection.forest import RandomForestDetector
from firesight.detection.guard import apply_guard, guard_columns
from firesight.detection.sequence import LSTMDetector, sequence_index
from firesight.errors import DataError, InvalidParameterError


#: From this many rows on, the XGBoost member uses XGBoost's in-place prediction.
_XGB_INPLACE_ROWS = 512
#: Rows scored together per tree (keeps one tree's nodes in cache while rows overlap).
_BLOCK_ROWS = 128


@numba.njit(cache=True, nogil=True)
def _forest_sum(x, roots, depths, feature, threshold, child, leaf_value, float32_sum, start):
    """Sum over trees of the leaf values reached by each row of ``x``.

    ``x`` is :func:`_split_missing` of the member's columns: each feature twice, NaN as
    -inf in the first half and +inf in the second, and a node reads the half that sends a
    missing value its way. Nodes are stored so that an internal node's children are
    ``child`` (left) and ``child + 1`` (right); a leaf is its own child with an infinite
    threshold, so every tree is walked a fixed ``depths[t]`` steps without data-dependent
    branches. A row goes right when ``v > threshold`` (float32; see
    :func:`_right_threshold`). ``float32_sum`` adds the leaves in float32 from ``start`` in
    tree order (as XGBoost does), else in float64.
    """
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    node = np.empty(_BLOCK_ROWS, dtype=np.int32)
    acc64 = np.empty(_BLOCK_ROWS, dtype=np.float64)
    acc32 = np.empty(_BLOCK_ROWS, dtype=np.float32)
    for b0 in range(0, n, _BLOCK_ROWS):
        m = min(_BLOCK_ROWS, n - b0)
        for r in range(m):
            acc64[r] = 0.0
            acc32[r] = np.float32(start)
        for t in range(roots.shape[0]):
            for r in range(m):
                node[r] = roots[t]
            for _ in range(depths[t]):
                for r in range(m):
                    k = node[r]
                    node[r] = child[k] + np.int32(x[b0 + r, feature[k]] > threshold[k])
            if float32_sum:
                for r in range(m):
                    acc32[r] += np.float32(leaf_value[node[r]])
            else:
                for r in range(m):
                    acc64[r] += leaf_value[node[r]]
        for r in range(m):
            out[b0 + r] = np.float64(acc32[r]) if float32_sum else acc64[r]
    return out


def _right_threshold(threshold: np.ndarray, strict: bool) -> np.ndarray:
    """float32 ``T`` such that a float32 value ``v`` goes right exactly when ``v > T``.

    scikit-learn sends ``v`` right when ``float64(v) > t`` (float64 ``t``): that is
    ``v > T`` with ``T`` = ``t`` rounded down to float32. XGBoost sends ``v`` right when
    ``v >= t`` (float32 ``t``): that is ``v > T`` with ``T`` the float32 just below ``t``.
    """
    t64 = np.asarray(threshold, dtype=np.float64)
    t32 = t64.astype(np.float32)
    if strict:
        return np.nextafter(t32, np.float32(-np.inf))
    return np.where(t32.astype(np.float64) > t64, np.nextafter(t32, np.float32(-np.inf)), t32)


def _split_missing(x32: np.ndarray) -> np.ndarray:
    """``[x with NaN as -inf | x with NaN as +inf]``: a comparison ``v > t`` on the first
    half sends a missing value left, on the second half right."""
    missing = np.isnan(x32)
    return np.ascontiguousarray(np.concatenate([np.where(missing, np.float32(-np.inf), x32),
                                                np.where(missing, np.float32(np.inf), x32)], axis=1))


def _layout(left: list[np.ndarray], right: list[np.ndarray], feature: list[np.ndarray],
            threshold: list[np.ndarray], nan_right: list[np.ndarray], value: list[np.ndarray],
            n_features: int):
    """Flatten trees breadth first so that each node's children are adjacent.

    Inputs are per tree, with ``left < 0`` at leaves. Returns the arrays
    :func:`_forest_sum` walks (leaves point to themselves and never go right; a node whose
    missing values go right reads the second half of :func:`_split_missing`).
    """
    out = {k: [] for k in ("feature", "threshold", "child", "value")}
    roots, depths, offset = [], [], 0
    for lt, rt, ft, th, nr, va in zip(left, right, feature, threshold, nan_right, value):
        order, depth_of, new_index = [0], {0: 0}, {}
        i = 0
        while i < len(order):
            k = order[i]
            if lt[k] >= 0:
                for c in (lt[k], rt[k]):
                    depth_of[int(c)] = depth_of[k] + 1
                    order.append(int(c))
            i += 1
        for pos, k in enumerate(order):
            new_index[k] = offset + pos
        for k in order:
            leaf = lt[k] < 0
            out["feature"].append(0 if leaf else int(ft[k]) + (n_features if nr[k] else 0))
            t = np.inf if leaf else float(th[k])
            if not leaf and nr[k] and t == np.inf:
                # "missing right, every value left" (scikit-learn's split on missingness):
                # +inf must still pass, so the threshold is the largest finite float32
                t = float(np.finfo(np.float32).max)
            out["threshold"].append(t)
            out["child"].append(new_index[k] if leaf else new_index[int(lt[k])])
            out["value"].append(float(va[k]) if leaf else 0.0)
        roots.append(offset)
        depths.append(max(depth_of.values()))
        offset += len(order)
    return (np.array(roots, np.int32), np.array(depths, np.int32),
            np.array(out["feature"], np.int32), np.array(out["threshold"], np.float32),
            np.array(out["child"], np.int32), np.array(out["value"], np.float64))


def _take(x32: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The member's columns of ``x32`` (no copy when they are all of them, in order)."""
    if len(cols) == x32.shape[1] and (cols == np.arange(len(cols))).all():
        return x32
    return x32[:, cols]


def _columns(member_names: Sequence[str], input_names: Sequence[str]) -> np.ndarray:
    position = {name: j for j, name in enumerate(input_names)}
    missing = [n for n in member_names if n not in position]
    if missing:
        raise DataError(f"model member needs features outside the input columns: {missing[:5]}")
    return np.array([position[n] for n in member_names], dtype=np.int64)


class _Forest:
    """A fitted scikit-learn Random Forest as flat node arrays."""

    def __init__(self, det: RandomForestDetector, input_names: Sequence[str]):
        trees = [e.tree_ for e in det.forest_.estimators_]
        values = [t.value[:, 0, :] for t in trees]
        self.arrays = _layout(
            [t.children_left for t in trees], [t.children_right for t in trees],
            [t.feature for t in trees], [_right_threshold(t.threshold, False) for t in trees],
            [~np.asarray(t.missing_go_to_left, dtype=bool) for t in trees],
            # the leaf's class distribution, normalised as predict_proba does
            [v[:, 1] / np.maximum(v.sum(axis=1), 1e-300) for v in values],
            len(det.feature_names_))
        self.n_trees = len(trees)
        self.cols = _columns(det.feature_names_, input_names)

    def predict(self, x32: np.ndarray, stream: bool) -> np.ndarray:
        total = _forest_sum(_split_missing(_take(x32, self.cols)), *self.arrays, False, 0.0)
        return total / self.n_trees


class _Boosted:
    """A fitted XGBoost binary:logistic booster as flat node arrays (from its JSON model)."""

    def __init__(self, det: XGBoostDetector, input_names: Sequence[str]):
        self.booster = det.booster_.get_booster().copy()
        self.booster.set_param({"nthread": 1})
        model = json.loads(bytes(self.booster.save_raw("json")))
        learner = model["learner"]
        objective = learner["objective"]["name"]
        if objective != "binary:logistic":
            raise InvalidParameterError("objective", "'binary:logistic'", objective)
        booster = learner["gradient_booster"]
        if booster.get("name") != "gbtree":
            raise InvalidParameterError("booster", "'gbtree'", booster.get("name"))
        trees = booster["model"]["trees"]
        if any(any(s != 0 for s in t["split_type"]) for t in trees):
            raise InvalidParameterError("split_type", "numerical splits only", "categorical")
        base_score = float(str(learner["learner_model_param"]["base_score"]).strip("[]"))
        # binary:logistic keeps the base score as a probability; the margin starts at its logit
        self.base_margin = float(np.float32(np.log(base_score / (1.0 - base_score))))
        f32 = [np.asarray(t["split_conditions"], dtype=np.float32) for t in trees]
        self.arrays = _layout(
            [np.asarray(t["left_children"]) for t in trees],
            [np.asarray(t["right_children"]) for t in trees],
            [np.asarray(t["split_indices"]) for t in trees], [_right_threshold(t, True) for t in f32],
            [~np.asarray(t["default_left"], dtype=bool) for t in trees],
            f32, len(det.feature_names_))  # XGBoost keeps a leaf's value in split_conditions
        self.cols = _columns(det.feature_names_, input_names)

    def margin(self, x32: np.ndarray) -> np.ndarray:
        return _forest_sum(_split_missing(_take(x32, self.cols)), *self.arrays, True, self.base_margin)

    def predict(self, x32: np.ndarray, stream: bool) -> np.ndarray:
        if len(x32) >= _XGB_INPLACE_ROWS:
            # large batches: XGBoost's own in-place prediction (one thread) is faster than
            # the walk and is the reference itself
            return self.booster.inplace_predict(_take(x32, self.cols)).astype(np.float64)
        return 1.0 / (1.0 + np.exp(-self.margin(x32)))


@numba.njit(cache=True, nogil=True)
def _lstm_cell(gates, c):
    """Cell update in place: ``c = f * c + i * g`` with ``i, f`` from the tanh of the halved
    pre-activations (``sigmoid(z) = (1 + tanh(z / 2)) / 2``) and ``g`` their tanh."""
    hid = c.shape[1]
    half, one = np.float32(0.5), np.float32(1.0)
    for r in range(c.shape[0]):
        for j in range(hid):
            i = half * (one + gates[r, j])
            f = half * (one + gates[r, hid + j])
            c[r, j] = f * c[r, j] + i * gates[r, 2 * hid + j]


@numba.njit(cache=True, nogil=True)
def _lstm_hidden(gates, tanh_c, h):
    """Hidden state in place: ``h = o * tanh(c)``."""
    hid = h.shape[1]
    half, one = np.float32(0.5), np.float32(1.0)
    for r in range(h.shape[0]):
        for j in range(hid):
            h[r, j] = half * (one + gates[r, 3 * hid + j]) * tanh_c[r, j]


#: Rows per LSTM chunk (the gate arrays of a chunk stay in cache).
_LSTM_ROWS = 1024


class _Sequence:
    """A fitted LSTM detector as NumPy matrices (one layer; torch gate order i, f, g, o)."""

    def __init__(self, det: LSTMDetector, input_names: Sequence[str]):
        state = det.network_.state_dict()
        if int(det.num_layers) != 1:
            raise InvalidParameterError("num_layers", "1 for the fast path", det.num_layers)
        w_ih = state["lstm.weight_ih_l0"].numpy().astype(np.float32)
        w_hh = state["lstm.weight_hh_l0"].numpy().astype(np.float32)
        bias = (state["lstm.bias_ih_l0"] + state["lstm.bias_hh_l0"]).numpy().astype(np.float32)
        self.hidden = w_hh.shape[1]
        # sigmoid(z) = (1 + tanh(z / 2)) / 2: halve the i, f, o rows so that one tanh over all
        # four gates serves every gate
        half = np.ones(4 * self.hidden, dtype=np.float32)
        half[: 2 * self.hidden] = 0.5
        half[3 * self.hidden:] = 0.5
        self.w_ih_t = np.ascontiguousarray((w_ih * half[:, None]).T)
        self.w_hh_t = np.ascontiguousarray((w_hh * half[:, None]).T)
        self.bias = bias * half
        self.head_w = state["head.weight"].numpy()[0].astype(np.float32)
        self.head_b = float(state["head.bias"].numpy()[0])
        self.mean = det.mean_.astype(np.float32)
        self.scale = det.scale_.astype(np.float32)
        self.seq_len, self.seq_stride = int(det.seq_len), int(det.seq_stride)
        self.cols = _columns(det.feature_names_, input_names)

    def predict(self, x32: np.ndarray, stream: bool) -> np.ndarray:
        z = (_take(x32, self.cols) - self.mean) / self.scale
        z = np.nan_to_num(z, nan=0.0).astype(np.float32)
        proj = z @ self.w_ih_t
        proj += self.bias
        if stream:
            steps = sequence_index(np.zeros(len(z)), self.seq_len, self.seq_stride)
            return np.concatenate([self._run(proj[steps[b:b + _LSTM_ROWS]])
                                   for b in range(0, len(z), _LSTM_ROWS)])
        return np.concatenate([self._run(proj[b:b + _LSTM_ROWS, None, :])
                               for b in range(0, len(z), _LSTM_ROWS)])

    def _run(self, proj: np.ndarray) -> np.ndarray:
        """LSTM over ``proj`` (rows, steps, 4 * hidden): the projected inputs of each step
        (one step: the same input at every step)."""
        n, hid = len(proj), self.hidden
        h = np.zeros((n, hid), dtype=np.float32)
        c = np.zeros((n, hid), dtype=np.float32)
        tc = np.empty((n, hid), dtype=np.float32)
        g = np.empty((n, 4 * hid), dtype=np.float32)
        for t in range(self.seq_len):
            np.matmul(h, self.w_hh_t, out=g)
            g += proj[:, min(t, proj.shape[1] - 1), :]
            np.tanh(g, out=g)
            _lstm_cell(g, c)
            np.tanh(c, out=tc)
            _lstm_hidden(g, tc, h)
        logit = h.astype(np.float64) @ self.head_w.astype(np.float64) + self.head_b
        return 1.0 / (1.0 + np.exp(-logit))


class CompiledDetector:
    """Fast scorer of one fitted detector (any of the project's kinds, ensembles recursively).

    Parameters
    ----------
    detector : DetectorMixin
        A fitted :class:`RandomForestDetector`, :class:`XGBoostDetector`,
        :class:`LSTMDetector` or :class:`EnsembleDetector` of them.
    """

    def __init__(self, detector: DetectorMixin):
        detector._check_fitted()
        self.feature_names: list[str] = list(detector.feature_names_)
        self._parts, self._stacker = [], None
        self._guard = getattr(detector, "guard", None)
        self._guard_columns = guard_columns(self._guard, self.feature_names)
        members = detector.estimators_ if isinstance(detector, EnsembleDetector) else [detector]
        for member in members:
            self._parts.append(self._compile(member))
        if isinstance(detector, EnsembleDetector) and detector.method == "stacking":
            lr = detector.stacker_
            self._stacker = (np.asarray(lr.coef_[0], dtype=np.float64), float(lr.intercept_[0]))

    def _compile(self, member: DetectorMixin):
        if isinstance(member, RandomForestDetector):
            return _Forest(member, self.feature_names)
        if isinstance(member, XGBoostDetector):
            return _Boosted(member, self.feature_names)
        if isinstance(member, LSTMDetector):
            return _Sequence(member, self.feature_names)
        raise InvalidParameterError("detector", "RF, XGBoost, LSTM or a mean/stacking ensemble "
                                    "of them", type(member).__name__)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def predict(self, values: np.ndarray, *, stream: bool = False) -> np.ndarray:
        """Fire probability per row [0-1]; NaN for a row whose features are all missing.

        Parameters
        ----------
        values : numpy.ndarray, shape (n_rows, n_features)
            Window features in :attr:`feature_names` order; NaN marks a missing value,
            infinite values are refused.
        stream : bool
            False: every row scored on its own. True: the rows are consecutive windows of
            one device (the LSTM reads each row's history from the rows before it; rows
            whose features are all missing are left out of that history, as in the
            reference path).
        """
        x = np.asarray(values)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise InvalidParameterError("values", f"a 2-D array with {self.n_features} columns",
                                        getattr(x, "shape", None))
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        if np.isinf(x32).any():
            raise DataError("values hold infinite numbers")
        out = np.full(len(x32), np.nan)
        ok = ~np.isnan(x32).all(axis=1)
        if not ok.any():
            return out
        rows = x32 if ok.all() else np.ascontiguousarray(x32[ok])
        probs = [np.clip(part.predict(rows, stream), 0.0, 1.0) for part in self._parts]
        if self._stacker is not None:
            q = np.clip(np.column_stack(probs), 1e-6, 1 - 1e-6)
            p = 1.0 / (1.0 + np.exp(-(np.log(q / (1 - q)) @ self._stacker[0] + self._stacker[1])))
        elif len(probs) == 1:
            p = probs[0]
        else:
            p = np.mean(np.column_stack(probs), axis=1)
        p = apply_guard(self._guard, rows, np.clip(p, 0.0, 1.0), self._guard_columns)
        out[ok] = p
        return out
