"""An independent reference: the same training run with torch.optim.SGD (float64).

Only used where PyTorch is installed (it is never a dependency). The batch order
follows the documented rule: ``numpy.random.default_rng(seed).permutation(N)`` per
epoch when shuffling, else 0..N-1; the last batch may be smaller.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from visualconv.engine.layers import ConvLayer, ConvTransposeLayer, DenseLayer, FlattenLayer, PoolLayer
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

    def act(layer: Any, z: Any) -> Any:
        return {
            "identity": lambda t: t,
            "relu": F.relu,
            "leaky_relu": lambda t: F.leaky_relu(t, layer.negative_slope),
            "sigmoid": torch.sigmoid,
            "tanh": torch.tanh,
        }[layer.activation](z)

    def conv(layer: Any, h: Any, p: dict[str, Any]) -> Any:
        # the border by side and by mode (F.pad), then a convolution without padding of its own
        top, bottom, left, right = layer.sides
        if layer.dims == 1:
            mode = "constant" if layer.padding_mode == "zeros" else layer.padding_mode
            h = F.pad(h, (left, right), mode=mode) if left or right else h
            return F.conv1d(
                h, p["weight"], p.get("bias"), layer.stride[1], 0, layer.dilation[1], layer.groups
            )
        mode = "constant" if layer.padding_mode == "zeros" else layer.padding_mode
        h = F.pad(h, (left, right, top, bottom), mode=mode) if any(layer.sides) else h
        return F.conv2d(h, p["weight"], p.get("bias"), layer.stride, 0, layer.dilation, layer.groups)

    def transposed(layer: Any, h: Any, p: dict[str, Any]) -> Any:
        if layer.dims == 1:
            return F.conv_transpose1d(
                h,
                p["weight"],
                p.get("bias"),
                layer.stride[1],
                layer.padding[1],
                layer.output_padding[1],
                layer.groups,
                layer.dilation[1],
            )
        return F.conv_transpose2d(
            h,
            p["weight"],
            p.get("bias"),
            layer.stride,
            layer.padding,
            layer.output_padding,
            layer.groups,
            layer.dilation,
        )

    def pool(layer: Any, h: Any) -> Any:
        one = layer.dims == 1
        if layer.is_global:
            if layer.mode == "max":
                return (F.adaptive_max_pool1d if one else F.adaptive_max_pool2d)(h, 1)
            return (F.adaptive_avg_pool1d if one else F.adaptive_avg_pool2d)(h, 1)
        if one:
            fn = F.max_pool1d if layer.mode == "max" else F.avg_pool1d
            return fn(h, layer.size[1], layer.stride[1], layer.padding[1])
        fn = F.max_pool2d if layer.mode == "max" else F.avg_pool2d
        return fn(h, layer.size, layer.stride, layer.padding)

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
                h = act(layer, conv(layer, h, p))
            elif isinstance(layer, ConvTransposeLayer):
                h = act(layer, transposed(layer, h, p))
            elif isinstance(layer, PoolLayer):
                h = pool(layer, h)
            elif isinstance(layer, FlattenLayer):
                h = h.reshape(h.shape[0], -1)
            else:
                assert isinstance(layer, DenseLayer)
                h = act(layer, F.linear(h, p["weight"], p.get("bias")))
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
