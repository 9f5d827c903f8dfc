#!/usr/bin/python3
"""Reference gradients from PyTorch autograd, the oracle for the gradient
graph builder (test/grad/architectures.test.ts).

    /usr/bin/python3 models/make_grad_refs.py

For each architecture below: export it with torch.onnx.export to
test/fixtures/grad/NAME.onnx (batch axis dynamic), pick inputs and one class
target per row, and record d logit[row, target[row]] / d input with autograd,
in float64 (the model is cast to double for the backward pass, so the
reference carries no float32 rounding). For the text model the gradient is
taken at the embedding output. The shipped models in models/ get the same
treatment from their own .onnx weights, rebuilt in PyTorch.
"""
import copy
import json
import math
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "grad")


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 4))

    def forward(self, x):
        return self.net(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (self.down(x) if self.down else x))


class SmallResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        self.layer1 = BasicBlock(8, 8, 1)
        self.layer2 = BasicBlock(8, 16, 2)
        # a BatchNorm that follows no convolution, so the exporter cannot fold it away
        self.bn_out = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = self.bn_out(self.layer2(self.layer1(self.stem(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class MobileNetBlock(nn.Module):
    """Inverted residual: 1x1 expand, ReLU6, 3x3 depthwise, ReLU6, 1x1 project, residual."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.ReLU6())
        self.expand = nn.Sequential(nn.Conv2d(8, 24, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU6())
        self.dw = nn.Sequential(nn.Conv2d(24, 24, 3, 1, 1, groups=24, bias=False), nn.BatchNorm2d(24), nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(24, 8, 1, bias=False), nn.BatchNorm2d(8))
        self.fc = nn.Linear(8, 3)

        self.bn_in = nn.BatchNorm2d(8)

    def forward(self, x):
        x = self.bn_in(self.stem(x))
        x = x + self.project(self.dw(self.expand(x)))
        return self.fc(x.mean(dim=(2, 3)))


class Encoder(nn.Module):
    """A transformer encoder layer over token ids, with a padding mask, erf-GELU and LayerNorm."""

    def __init__(self, vocab=30, d=16, heads=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(1, 8, d) * 0.1)
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d)
        self.ln2 = nn.LayerNorm(d)
        self.ff1 = nn.Linear(d, 32)
        self.ff2 = nn.Linear(32, d)
        self.head = nn.Linear(d, 2)

    def forward(self, ids):
        x = self.embedding(ids) + self.pos
        n, t, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        split = lambda z: z.reshape(n, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)
        pad = (ids == 0)[:, None, None, :]
        scores = scores.masked_fill(pad, -1e4)
        att = torch.softmax(scores, dim=-1) @ v
        x = self.ln1(x + self.proj(att.transpose(1, 2).reshape(n, t, d)))
        x = self.ln2(x + self.ff2(F.gelu(self.ff1(x))))
        keep = (ids != 0).float().unsqueeze(-1)
        return self.head((x * keep).sum(1) / keep.sum(1))


IG_STEPS = 20
IG_METHODS = ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"]


def quadrature(method, n):
    """Points and weights as Captum's approximation_methods define them."""
    if method == "gausslegendre":
        x, w = np.polynomial.legendre.leggauss(n)
        return 0.5 * (x + 1), 0.5 * w
    if method == "riemann_trapezoid":
        w = np.full(n, 1.0 / (n - 1))
        w[0] = w[-1] = 0.5 / (n - 1)
        return np.linspace(0, 1, n), w
    start = {"riemann_left": 0.0, "riemann_right": 1.0 / n, "riemann_middle": 0.5 / n}[method]
    return np.linspace(start, start + (n - 1) / n, n), np.full(n, 1.0 / n)


def integrated_gradients(fn, x, targets, method, n=IG_STEPS):
    """IG from a zero baseline with autograd, in float64: fn maps the attributed tensor to logits."""
    alphas, weights = quadrature(method, n)
    x = x.double()
    total = torch.zeros_like(x)
    for a, w in zip(alphas, weights):
        point = (a * x).detach().requires_grad_(True)
        logits = fn(point)
        sel = logits[torch.arange(len(targets)), torch.tensor(targets)]
        (g,) = torch.autograd.grad(sel.sum(), point)
        total += w * g
    return (x * total).reshape(-1).tolist()


def randomize_bn(model, g):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d,)):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def logits_from_embedding(module, ids, emb):
    """The module's logits with its embedding lookup replaced by the given embedding values."""
    orig = module.embedding.forward
    module.embedding.forward = lambda _ids: emb
    try:
        return module(ids)
    finally:
        module.embedding.forward = orig


def ig_references(module, x, targets, at_embedding):
    """IG of every integration method, at the input or at the embedding output."""
    if at_embedding:
        emb = module.embedding(x).detach()
        fn = lambda e: logits_from_embedding(module, x, e)
        return {m: integrated_gradients(fn, emb, targets, m) for m in IG_METHODS}
    return {m: integrated_gradients(module, x, targets, m) for m in IG_METHODS}


def reference(module, x, targets, model_path, input_name, at_embedding):
    """Logits, the gradient of the targeted logits and IG for every method, with autograd in float64.
    `module` must already be in double precision."""
    if at_embedding:
        wrt = module.embedding(x).detach().requires_grad_(True)
        logits = logits_from_embedding(module, x, wrt)
        at = embedding_output_name(model_path)
    else:
        wrt = x.double().detach().requires_grad_(True)
        logits = module(wrt)
        at = input_name
    sel = logits[torch.arange(len(targets)), torch.tensor(targets)]
    (grad,) = torch.autograd.grad(sel.sum(), wrt)
    return {
        "model": os.path.basename(model_path), "input": input_name, "at": at,
        "input_dtype": "int64" if x.dtype == torch.int64 else "float32",
        "input_shape": list(x.shape), "input_data": x.reshape(-1).tolist(),
        "targets": targets, "logits": logits.detach().reshape(-1).tolist(),
        "grad_shape": list(grad.shape), "grad": grad.reshape(-1).tolist(),
        "ig_steps": IG_STEPS, "ig": ig_references(module, x, targets, at_embedding),
    }


def embedding_output_name(path):
    m = onnx.load(path)
    inits = {t.name for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Gather" and n.input[0] in inits:
            return n.output[0]
    raise RuntimeError("no embedding Gather in " + path)


def export_and_reference(name, model, x, targets, opset, input_name, at_embedding=False):
    model.eval()
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, x, path, input_names=[input_name], output_names=["logits"],
                      dynamic_axes={input_name: {0: "batch"}, "logits": {0: "batch"}}, opset_version=opset)
    ref = {"opset": opset, **reference(copy.deepcopy(model).double(), x, targets, path, input_name, at_embedding)}
    grad = torch.tensor(ref["grad"])
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(ref, f)
    print(f"{name}: opset {opset}, {os.path.getsize(path)} bytes, grad norm {grad.norm():.4f}")


def onnx_weights(path):
    return {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(path).graph.initializer}


def shipped_references():
    """The shipped models, rebuilt in PyTorch from their own .onnx weights."""
    import sys
    sys.path.insert(0, HERE)
    import make_models as mm

    def rebuilt(module, file):
        state = onnx_weights(os.path.join(HERE, file))
        module.load_state_dict(state)
        return module.eval().double()

    def shipped(name, module, x, targets, input_name, at):
        return reference(module.double(), x, targets, os.path.join(HERE, name + ".onnx"), input_name, at == "embedding")

    load = lambda f: torch.from_numpy(np.load(os.path.join(HERE, "samples", f)))
    refs = {
        "digits_cnn": shipped("digits_cnn", rebuilt(mm.DigitsCNN(), "digits_cnn.onnx"),
                                torch.cat([load("digit_0.npy"), load("digit_3.npy"), load("digit_7.npy")]),
                                [0, 3, 5], "image", "image"),
        "tabular_mlp": shipped("tabular_mlp", rebuilt(mm.TabularMLP(np.zeros(30), np.ones(30)), "tabular_mlp.onnx"),
                                 torch.cat([load("patient_0.npy"), load("patient_1.npy")]), [1, 0], "features", "features"),
        "text_classifier": shipped("text_classifier", rebuilt(mm.TextClassifier(len(json.load(open(os.path.join(HERE, "text_vocab.json"))))), "text_classifier.onnx"),
                                     torch.cat([load("review_positive.npy"), load("review_negative.npy")]), [1, 0], "token_ids", "embedding"),
    }
    with open(os.path.join(HERE, "reference_gradients.json"), "w") as f:
        json.dump(refs, f)
    print("shipped model references:", ", ".join(refs))


class LSTMClassifier(nn.Module):
    """An LSTM over embeddings: ONNX's LSTM op has no gradient rule; onnx-explain lowers it to standard ops first."""

    def __init__(self, vocab=20, d=6):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d)
        self.lstm = nn.LSTM(d, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, ids):
        out, _ = self.lstm(self.embedding(ids))
        return self.head(out[:, -1])


def main():
    os.makedirs(OUT, exist_ok=True)
    shipped_references()
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)

    export_and_reference("mlp", MLP(), torch.randn(3, 10, generator=g), [0, 2, 3], 13, "x")

    resnet = SmallResNet()
    randomize_bn(resnet, g)
    export_and_reference("resnet_small", resnet, torch.randn(2, 3, 16, 16, generator=g), [1, 4], 13, "image")

    mobile = MobileNetBlock()
    randomize_bn(mobile, g)
    export_and_reference("mobilenet_block", mobile, torch.randn(2, 3, 16, 16, generator=g) * 2, [0, 2], 13, "image")

    ids = torch.tensor([[5, 9, 2, 17, 3, 0, 0, 0], [11, 4, 4, 28, 1, 6, 19, 2]])
    enc = Encoder()
    # opset 17 exports LayerNormalization as one op; opset 13 decomposes it (ReduceMean, Sub, Pow, Sqrt, Div)
    export_and_reference("encoder_layernorm_fused", enc, ids, [1, 0], 17, "token_ids", at_embedding=True)
    export_and_reference("encoder_layernorm_decomposed", enc, ids, [1, 0], 13, "token_ids", at_embedding=True)

    torch.manual_seed(1)
    lstm = LSTMClassifier()
    export_and_reference("lstm_text", lstm, torch.tensor([[3, 7, 1, 12, 5], [9, 2, 2, 18, 4]]), [2, 0], 13, "token_ids", at_embedding=True)


if __name__ == "__main__":
    main()
