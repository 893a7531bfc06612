"""An independent reference: the same training run with torch.optim.SGD (float64).

Only used where PyTorch is installed (it is never a dependency). The batch order
follows the documented rule: ``numpy.random.default_rng(seed).permutation(N)`` per
epoch when shuffling, else 0..N-1; the last batch may be smaller.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from visualconv.engine.layers import ConvLayer, DenseLayer, FlattenLayer, PoolLayer
from visualconv.engine.model import Model, TrainingSpec


def torch_train(
    model: Model, spec: TrainingSpec, inputs: np.ndarray, targets: np.ndarray, threads: int = 1
) -> dict[str, Any]:
    """Train with torch; return per-iteration losses, epoch losses and final parameters.

    ``threads`` is torch's intra-op thread count for the run (1 by default: with tiny
    tensors more threads only add contention). benchmarks/bench_training.py times it.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _torch_train(model, spec, inputs, targets)
    finally:
        torch.set_num_threads(previous)


def _torch_train(model: Model, spec: TrainingSpec, inputs: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    acts = {
        "identity": lambda t: t,
        "relu": F.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
    }
    tensors: list[dict[str, Any]] = []
    for layer in model.layers:
        entry = {}
        for name, value in layer.parameters().items():
            entry[name] = torch.tensor(np.array(value), dtype=torch.float64, requires_grad=True)
        tensors.append(entry)

    def run(x: Any) -> Any:
        h = x
        for layer, p in zip(model.layers, tensors, strict=True):
            if isinstance(layer, ConvLayer):
                if layer.dims == 1:
                    z = F.conv1d(
                        h, p["weight"], p.get("bias"), layer.stride[1], layer.padding[1], layer.dilation[1]
                    )
                else:
                    z = F.conv2d(h, p["weight"], p.get("bias"), layer.stride, layer.padding, layer.dilation)
                h = acts[layer.activation](z)
            elif isinstance(layer, PoolLayer):
                if layer.dims == 1:
                    fn = F.max_pool1d if layer.mode == "max" else F.avg_pool1d
                    h = fn(h, layer.size[1], layer.stride[1])
                else:
                    fn = F.max_pool2d if layer.mode == "max" else F.avg_pool2d
                    h = fn(h, layer.size, layer.stride)
            elif isinstance(layer, FlattenLayer):
                h = h.reshape(h.shape[0], -1)
            else:
                assert isinstance(layer, DenseLayer)
                h = acts[layer.activation](F.linear(h, p["weight"], p.get("bias")))
        return h

    def loss_of(y: Any, t: Any) -> Any:
        assert model.loss is not None
        n = y.shape[0]
        if model.loss.type == "cross_entropy":
            return F.cross_entropy(y.reshape(n, -1), t)
        sq = ((y - t) ** 2).reshape(n, -1)
        per_example = {"half_sum": 0.5 * sq.sum(1), "sum": sq.sum(1), "mean": sq.mean(1)}[
            model.loss.reduction
        ]
        return per_example.mean()

    params = [t for entry in tensors for t in entry.values()]
    optimizer = torch.optim.SGD(params, lr=spec.learning_rate, momentum=spec.momentum)
    x_all = torch.tensor(inputs, dtype=torch.float64)
    if model.loss is not None and model.loss.type == "cross_entropy":
        t_all = torch.tensor(np.asarray(targets), dtype=torch.int64)
    else:
        t_all = torch.tensor(np.asarray(targets), dtype=torch.float64)
    n = len(inputs)
    size = n if spec.batch_size is None else min(spec.batch_size, n)
    rng = np.random.default_rng(spec.seed)
    losses, epoch_losses = [], []
    for _ in range(spec.epochs):
        order = rng.permutation(n) if spec.shuffle else np.arange(n)
        batch_losses = []
        for start in range(0, n, size):
            idx = torch.tensor(order[start : start + size])
            optimizer.zero_grad()
            loss = loss_of(run(x_all[idx]), t_all[idx])
            loss.backward()
            optimizer.step()
            batch_losses.append(float(loss.detach()))
        losses.extend(batch_losses)
        epoch_losses.append(sum(batch_losses) / len(batch_losses))
    final = [{k: v.detach().numpy().copy() for k, v in entry.items()} for entry in tensors]
    return {"losses": losses, "epoch_losses": epoch_losses, "parameters": final}
