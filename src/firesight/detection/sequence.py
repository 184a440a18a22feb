"""LSTM fire detector over sequences of window features (PyTorch, CPU).

Each prediction sees the last ``seq_len`` windows of its scenario, ``seq_stride`` windows
apart (causal: never a future window). At the start of a scenario the sequence is padded
with the first window, so a recording that has just started looks like a steady room.

References
----------
1. Hochreiter, S., Schmidhuber, J. (1997). Long Short-Term Memory. Neural Computation
   9(8), 1735-1780.
2. Paszke, A. et al. (2019). PyTorch: An Imperative Style, High-Performance Deep Learning
   Library. NeurIPS 32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np

from firesight.detection._base import DetectorMixin, feature_matrix, group_starts


def sequence_index(groups: np.ndarray, seq_len: int, seq_stride: int) -> np.ndarray:
    """Row indices ``(n_rows, seq_len)`` of each row's causal history within its group.

    Row ``i`` reads rows ``i - (seq_len-1-k)*seq_stride`` for ``k = 0..seq_len-1``, clamped
    at the first row of its group (left padding with the first window).
    """
    n = len(groups)
    starts = group_starts(groups)
    offsets = (np.arange(seq_len)[::-1] * seq_stride)[None, :]
    idx = np.arange(n)[:, None] - offsets
    return np.maximum(idx, starts[:, None]).astype(np.int64)


@contextlib.contextmanager
def _torch_threads(n_threads: int):
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n_threads)))
    try:
        yield torch
    finally:
        torch.set_num_threads(previous)


def _build_network(n_features: int, hidden_size: int, num_layers: int):
    import torch
    from torch import nn

    class _LSTMNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(n_features, hidden_size, num_layers=num_layers, batch_first=True)
            self.head = nn.Linear(hidden_size, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.lstm(x)
            return self.head(out[:, -1, :]).squeeze(-1)

    return _LSTMNet()


class LSTMDetector(DetectorMixin):
    """Fire probability per window from a small LSTM over the recent windows.

    Parameters
    ----------
    features : sequence of str, optional
        Feature columns to use (None: all numeric non-meta columns).
    seq_len : int
        Windows per sequence [count].
    seq_stride : int
        Step between the windows of a sequence [windows]; with 1 s windows and
        ``seq_len=16, seq_stride=2`` a sequence spans the last 31 s.
    hidden_size, num_layers : int
        LSTM width [units] and depth [layers].
    epochs : int
        Passes over the training windows [count].
    batch_size : int
        Sequences per optimiser step [count].
    learning_rate : float
        Adam step size [-].
    max_train_sequences : int
        Training sequences drawn per epoch at most [count] (keeps CPU time bounded).
    random_state : int
        Seed of the local torch and numpy generators (the global torch seed is untouched).
    n_threads : int
        Torch intra-op threads while fitting and predicting.
    """

    def __init__(self, *, features: Sequence[str] | None = None, seq_len: int = 16,
                 seq_stride: int = 2, hidden_size: int = 32, num_layers: int = 1, epochs: int = 6,
                 batch_size: int = 256, learning_rate: float = 3e-3,
                 max_train_sequences: int = 20000, random_state: int = 0, n_threads: int = 2):
        self.features = features
        self.seq_len = seq_len
        self.seq_stride = seq_stride
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_train_sequences = max_train_sequences
        self.random_state = random_state
        self.n_threads = n_threads

    def history_windows(self) -> int:
        return (int(self.seq_len) - 1) * int(self.seq_stride) + 1

    def _standardise(self, values: np.ndarray) -> np.ndarray:
        """Standard scores; an undefined (NaN) feature becomes 0, the training mean."""
        z = (values - self.mean_) / self.scale_
        return np.nan_to_num(z, nan=0.0).astype(np.float32)

    def _fit(self, values: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> None:
        with np.errstate(all="ignore"):
            mean = np.nan_to_num(np.nanmean(values, axis=0), nan=0.0)
            std = np.nan_to_num(np.nanstd(values, axis=0), nan=1.0)
        self.mean_ = mean.astype(np.float32)
        self.scale_ = np.maximum(std, 1e-6).astype(np.float32)
        x = self._standardise(values)
        idx = sequence_index(groups, self.seq_len, self.seq_stride)
        rng = np.random.default_rng(self.random_state)
        with _torch_threads(self.n_threads) as torch:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(self.random_state))
                net = _build_network(x.shape[1], self.hidden_size, self.num_layers)
            xt = torch.from_numpy(x)
            yt = torch.from_numpy(labels.astype(np.float32))
            pos = float(labels.sum())
            pos_weight = torch.tensor((len(labels) - pos) / max(pos, 1.0))
            loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
            opt = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
            net.train()
            self.loss_curve_ = []
            for _ in range(int(self.epochs)):
                order = rng.permutation(len(x))[: int(self.max_train_sequences)]
                total = 0.0
                for b in range(0, len(order), int(self.batch_size)):
                    rows = order[b: b + int(self.batch_size)]
                    batch = xt[torch.from_numpy(idx[rows])]
                    opt.zero_grad()
                    loss = loss_fn(net(batch), yt[torch.from_numpy(rows)])
                    loss.backward()
                    opt.step()
                    total += loss.item() * len(rows)
                self.loss_curve_.append(total / len(order))
            net.eval()
        self.network_ = net

    def _predict(self, values: np.ndarray, groups: np.ndarray) -> np.ndarray:
        x = self._standardise(values)
        idx = sequence_index(groups, self.seq_len, self.seq_stride)
        out = np.empty(len(x), dtype=np.float64)
        with _torch_threads(self.n_threads) as torch, torch.no_grad():
            xt = torch.from_numpy(x)
            for b in range(0, len(x), 4096):
                rows = idx[b: b + 4096]
                out[b: b + len(rows)] = torch.sigmoid(self.network_(xt[torch.from_numpy(rows)])).numpy()
        return out

    def predict_last(self, X) -> float:
        """Probability of the last row only (one sequence through the network)."""
        self._check_fitted()
        x = self._standardise(feature_matrix(X, self.feature_names_))
        idx = sequence_index(np.zeros(len(x)), self.seq_len, self.seq_stride)[-1:]
        with _torch_threads(1) as torch, torch.no_grad():
            return float(torch.sigmoid(self.network_(torch.from_numpy(x[idx]))).item())

    # -- persistence (used by firesight.detection.bundle) --------------------------------
    def state_arrays(self) -> dict:
        """Network weights and scaling as plain tensors/arrays (for ``torch.save``)."""
        import torch

        self._check_fitted()
        return {"state_dict": self.network_.state_dict(), "mean": torch.from_numpy(self.mean_),
                "scale": torch.from_numpy(self.scale_)}

    def load_state_arrays(self, feature_names: Sequence[str], state: dict) -> "LSTMDetector":
        """Restore a fitted detector from :meth:`state_arrays` output."""
        self.feature_names_ = list(feature_names)
        self.n_features_in_ = len(self.feature_names_)
        self.classes_ = np.array([0, 1])
        self.mean_ = np.asarray(state["mean"].numpy(), dtype=np.float32)
        self.scale_ = np.asarray(state["scale"].numpy(), dtype=np.float32)
        import torch

        with torch.random.fork_rng(devices=[]):
            net = _build_network(self.n_features_in_, self.hidden_size, self.num_layers)
        net.load_state_dict(state["state_dict"])
        net.eval()
        self.network_ = net
        return self
