"""An independent reference: the same model computed by PyTorch's autograd.

Only used where PyTorch is installed (it is never a dependency).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from visualconv.engine.layers import ConvLayer, ConvTransposeLayer, DenseLayer, FlattenLayer, PoolLayer
from visualconv.engine.model import Model


def torch_grad(model: Model) -> dict[str, Any]:
    """``grad --json``-shaped values computed by torch (float64)."""
    import torch
    import torch.nn.functional as F

    def act(name: str, z: Any, slope: float = 0.01) -> Any:
        return {
            "identity": lambda t: t,
            "relu": F.relu,
            "leaky_relu": lambda t: F.leaky_relu(t, slope),
            "sigmoid": torch.sigmoid,
            "tanh": torch.tanh,
        }[name](z)

    x = torch.tensor(np.asarray(model.input), dtype=torch.float64)[None].requires_grad_(True)
    params = []
    layer_values = []
    h = x
    for layer in model.layers:
        entry: dict[str, Any] = {"input": h}
        if isinstance(layer, ConvLayer):
            w = torch.tensor(np.asarray(layer.weight), dtype=torch.float64, requires_grad=True)
            b = None if layer.bias is None else torch.tensor(np.asarray(layer.bias), requires_grad=True)
            one = layer.dims == 1
            # torch.nn.Conv1d/Conv2d's own forward: groups, "same", padding_mode as the module does them
            module = (torch.nn.Conv1d if one else torch.nn.Conv2d)(
                h.shape[1],
                w.shape[0],
                tuple(w.shape[2:]),
                stride=layer.stride[1] if one else layer.stride,
                padding="same" if layer.same else (layer.padding[1] if one else layer.padding),
                dilation=layer.dilation[1] if one else layer.dilation,
                groups=layer.groups,
                bias=b is not None,
                padding_mode=layer.padding_mode,
                dtype=torch.float64,
            )
            module.weight, module.bias = torch.nn.Parameter(w), None if b is None else torch.nn.Parameter(b)
            w, b = module.weight, module.bias
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "same" with an even kernel: a padded copy
                z = module(h)
            entry.update(w=w, b=b, z=z)
            a = act(layer.activation, z, layer.negative_slope)
        elif isinstance(layer, ConvTransposeLayer):
            w = torch.tensor(np.asarray(layer.weight), dtype=torch.float64, requires_grad=True)
            b = None if layer.bias is None else torch.tensor(np.asarray(layer.bias), requires_grad=True)
            if layer.dims == 1:
                z = F.conv_transpose1d(
                    h,
                    w,
                    b,
                    layer.stride[1],
                    layer.padding[1],
                    layer.output_padding[1],
                    layer.groups,
                    layer.dilation[1],
                )
            else:
                z = F.conv_transpose2d(
                    h, w, b, layer.stride, layer.padding, layer.output_padding, layer.groups, layer.dilation
                )
            entry.update(w=w, b=b, z=z)
            a = act(layer.activation, z, layer.negative_slope)
        elif isinstance(layer, PoolLayer):
            one = layer.dims == 1
            if layer.is_global:
                adaptive = {
                    (True, "max"): F.adaptive_max_pool1d,
                    (False, "max"): F.adaptive_max_pool2d,
                    (True, "avg"): F.adaptive_avg_pool1d,
                    (False, "avg"): F.adaptive_avg_pool2d,
                }
                a = adaptive[one, layer.mode](h, 1)
            elif one:
                fn = F.max_pool1d if layer.mode == "max" else F.avg_pool1d
                a = fn(h, layer.size[1], layer.stride[1], layer.padding[1])
            else:
                fn = F.max_pool2d if layer.mode == "max" else F.avg_pool2d
                a = fn(h, layer.size, layer.stride, layer.padding)
        elif isinstance(layer, FlattenLayer):
            a = h.reshape(1, -1)
        else:
            assert isinstance(layer, DenseLayer)
            w = torch.tensor(np.asarray(layer.weight), dtype=torch.float64, requires_grad=True)
            b = None if layer.bias is None else torch.tensor(np.asarray(layer.bias), requires_grad=True)
            z = F.linear(h, w, b)
            entry.update(w=w, b=b, z=z)
            a = act(layer.activation, z, layer.negative_slope)
        for t in (entry.get("z"), a, h):
            if t is not None and t.requires_grad and not t.is_leaf:
                t.retain_grad()
        entry["a"] = a
        layer_values.append(entry)
        h = a
    loss = None
    if model.upstream is not None:
        objective = (h * torch.tensor(np.asarray(model.upstream))[None]).sum()
    else:
        assert model.loss is not None
        if model.loss.type == "cross_entropy":
            objective = F.cross_entropy(h.reshape(1, -1), torch.tensor([int(model.target)]))
        else:
            t = torch.tensor(np.asarray(model.target))[None]
            red = model.loss.reduction
            if red == "half_sum":
                objective = 0.5 * ((h - t) ** 2).sum()
            else:
                objective = F.mse_loss(h, t, reduction=red)
        loss = float(objective.detach())
    objective.backward()
    del params
    out = []
    for i, (layer, entry) in enumerate(zip(model.layers, layer_values, strict=True)):
        d: dict[str, Any] = {"index": i, "type": layer.type}
        if "z" in entry:
            d["pre_activation"] = entry["z"][0].detach().numpy()
        d["output"] = entry["a"][0].detach().numpy()
        d["grad_output"] = entry["a"].grad[0].numpy()
        if "z" in entry:
            d["grad_pre_activation"] = entry["z"].grad[0].numpy()
            d["grad_weight"] = entry["w"].grad.numpy()
            d["grad_bias"] = None if entry["b"] is None else entry["b"].grad.numpy()
        d["grad_input"] = entry["input"].grad[0].numpy()
        out.append(d)
    return {"format": "visualconv.grad/1", "loss": loss, "layers": out}
