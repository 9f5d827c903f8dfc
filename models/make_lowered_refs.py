#!/usr/bin/python3
"""Reference gradients for third-party models whose ops onnx-explain lowers
before differentiating them (test/grad/lowered.test.ts), from PyTorch
autograd on the same weights rebuilt as PyTorch modules, in float64.

    npx tsc -b && /usr/bin/python3 models/make_lowered_refs.py

Debian's python3 has torch but not onnx, so the weights are read by the
project's own decoder (models/dump_initializers.js) and handed over as JSON.

tract_byte_sb_bidi_lstm.onnx (sonos/tract's byte_sb_bidi_lstm test case,
a PyTorch 1.5 export): bytes -> Embedding(256, 32) -> bidirectional
LSTM(32, 128) -> bidirectional LSTM(256, 64) -> Linear(128, 2) per position.
ONNX stores each direction's gates in the order i, o, f, c and its biases as
[Wb, Rb]; PyTorch's are i, f, g(c), o and b_ih, b_hh. The reference is the
gradient of one output element per row (and, second, of class 1 summed over
every position) with respect to the embedding output, tensor '21'.
"""
import base64
import json
import os
import subprocess

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "lowered")


def initializers(path):
    raw = subprocess.run(["node", os.path.join(HERE, "dump_initializers.js"), path], check=True, capture_output=True).stdout
    return {k: torch.from_numpy(np.frombuffer(base64.b64decode(v["base64"]), dtype=np.float64).reshape(v["dims"]).copy()) for k, v in json.loads(raw).items()}


def onnx_lstm_to_torch(lstm, W, R, B, layer):
    """Copies ONNX LSTM weights ([dirs, 4H, in], gates i o f c) into a PyTorch LSTM layer (gates i f g o)."""
    H = lstm.hidden_size
    order = [0, 2, 3, 1]  # torch's i, f, g, o taken from ONNX's i, o, f, c

    def regate(m):
        return torch.cat([m[k * H:(k + 1) * H] for k in order], 0)

    for d, suffix in enumerate(["", "_reverse"]):
        getattr(lstm, f"weight_ih_l{layer}{suffix}").data = regate(W[d])
        getattr(lstm, f"weight_hh_l{layer}{suffix}").data = regate(R[d])
        getattr(lstm, f"bias_ih_l{layer}{suffix}").data = regate(B[d][: 4 * H])
        getattr(lstm, f"bias_hh_l{layer}{suffix}").data = regate(B[d][4 * H:])


class ByteLSTM(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.embedding = w["embedding.weight"]
        self.lstm1 = nn.LSTM(32, 128, bidirectional=True)
        self.lstm2 = nn.LSTM(256, 64, bidirectional=True)
        onnx_lstm_to_torch(self.lstm1, w["190"], w["191"], w["192"], 0)
        onnx_lstm_to_torch(self.lstm2, w["235"], w["236"], w["237"], 0)
        self.out_w = w["238"]
        self.out_b = w["out.bias"]

    def head(self, emb):
        """From the embedding output [B, T, 32] (tensor '21') to the logits [B, T, 2]."""
        y1, _ = self.lstm1(emb.transpose(0, 1))
        y2, _ = self.lstm2(y1)
        return y2.transpose(0, 1) @ self.out_w + self.out_b


def byte_lstm():
    name = "tract_byte_sb_bidi_lstm"
    w = initializers(os.path.join(OUT, name + ".onnx"))
    model = ByteLSTM(w).double()
    texts = [b"Das ist ein Test.", b"onnx-explain: 42!"]
    T = max(len(t) for t in texts)
    ids = torch.tensor([list(t.ljust(T, b"\0")) for t in texts], dtype=torch.long)
    emb = model.embedding[ids].clone().requires_grad_(True)
    logits = model.head(emb)
    position, cls = 9, 1
    (g_index,) = torch.autograd.grad(logits[:, position, cls].sum(), emb, retain_graph=True)
    (g_class,) = torch.autograd.grad(logits[:, :, cls].sum(), emb)
    ref = {
        "model": name + ".onnx",
        "input": "input",
        "input_dtype": "uint8",
        "input_shape": list(ids.shape),
        "input_data": ids.flatten().tolist(),
        "at": "21",
        "logits": logits.detach().flatten().tolist(),
        "logits_shape": list(logits.shape),
        "targets": {
            f"index {position},{cls}": {"target": {"index": [position, cls]}, "grad": g_index.flatten().tolist()},
            f"class {cls} (summed over positions)": {"target": cls, "grad": g_class.flatten().tolist()},
        },
        "grad_shape": list(emb.shape),
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(ref, f)
    print(name, "logits", list(logits.shape), "|grad|", float(g_index.norm()), float(g_class.norm()))


if __name__ == "__main__":
    torch.manual_seed(0)
    byte_lstm()
