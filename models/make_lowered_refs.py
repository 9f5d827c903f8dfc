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

ortgenai_tiny_random_gpt2_past.onnx (microsoft/onnxruntime-genai's test
model, tiny random GPT-2 passed through onnxruntime's transformer
optimizer): EmbedLayerNormalization, five blocks of com.microsoft Attention
(4 heads of 8, unidirectional, with past key/values), SkipLayerNormalization
and FastGelu, and an LM head over 1000 tokens. Rebuilt here as the GPT-2
arithmetic it fuses, on the tensors each fused node reads (the optimizer
shares identical tensors between layers; so does this). The reference is the
gradient of one logit at the last position with respect to the embedding sum
(word + position embeddings, EmbedLayerNormalization's output 2), with
random past states and one past position masked out.
"""
import base64
import json
import math
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


def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta


def fast_gelu(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def gpt2_head(w, emb_sum, pasts, attention_mask, layers=5, heads=4):
    """From the embedding sum [B, S, 32] to the logits, as the fused graph computes them."""
    ln_w, ln_b = w["transformer.h.0.ln_1.weight"], w["transformer.h.0.ln_1.bias"]
    B, S, D = emb_sum.shape
    hd = D // heads
    residual = emb_sum
    h = layer_norm(emb_sum, ln_w, ln_b)
    for i in range(layers):
        qkv = h @ w[f"transformer.h.{i}.attn.c_attn.weight"] + w["transformer.h.0.attn.c_attn.bias"]
        q, k, v = [t.reshape(B, S, heads, hd).transpose(1, 2) for t in qkv.split(D, dim=2)]
        past = pasts[i]
        P = past.shape[3]
        k = torch.cat([past[0], k], 2)
        v = torch.cat([past[1], v], 2)
        scores = q @ k.transpose(2, 3) / math.sqrt(hd)
        keep = (attention_mask[:, None, None, :] > 0) & (torch.arange(P + S)[None, :] <= (P + torch.arange(S))[:, None])[None, None]
        scores = scores.masked_fill(~keep, float("-inf"))
        ctx = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(B, S, D)
        residual = ctx @ w[f"transformer.h.{i}.attn.c_proj.weight"] + residual + ln_b
        h = layer_norm(residual, ln_w, ln_b)
        m = fast_gelu(h @ w[f"transformer.h.{i}.mlp.c_fc.weight"] + w["transformer.h.0.mlp.c_fc.bias"])
        residual = m @ w[f"transformer.h.{i}.mlp.c_proj.weight"] + residual + ln_b
        h = layer_norm(residual, ln_w, ln_b)
    return h @ w["onnx::MatMul_1400"]


def tiny_gpt2():
    name = "ortgenai_tiny_random_gpt2_past"
    w = initializers(os.path.join(OUT, name + ".onnx"))
    B, S, P = 2, 4, 2
    ids = torch.tensor([[5, 17, 300, 42], [999, 0, 64, 512 % 1000]])
    positions = torch.arange(P, P + S).repeat(B, 1)
    mask = torch.ones(B, P + S, dtype=torch.long)
    mask[1, 0] = 0  # one past position masked out
    g = torch.Generator().manual_seed(3)
    pasts = [torch.randn(2, B, 4, P, 8, generator=g, dtype=torch.float64).float().double() for _ in range(5)]
    emb_sum = (w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][positions]).clone().requires_grad_(True)
    logits = gpt2_head(w, emb_sum, pasts, mask)
    token = 7
    (grad,) = torch.autograd.grad(logits[:, S - 1, token].sum(), emb_sum)
    ref = {
        "model": name + ".onnx",
        "inputs": {
            "input_ids": {"dtype": "int32", "shape": list(ids.shape), "data": ids.flatten().tolist()},
            "position_ids": {"dtype": "int32", "shape": list(positions.shape), "data": positions.flatten().tolist()},
            "attention_mask": {"dtype": "int32", "shape": list(mask.shape), "data": mask.flatten().tolist()},
            **{f"past_{i}": {"dtype": "float32", "shape": list(p.shape), "data": p.flatten().tolist()} for i, p in enumerate(pasts)},
        },
        "at": "EmbedLayerNormalization_0_embedding_sum",
        "target": {"index": [S - 1, token]},
        "logits": logits.detach().flatten().tolist(),
        "logits_shape": list(logits.shape),
        "grad": grad.flatten().tolist(),
        "grad_shape": list(grad.shape),
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(ref, f)
    print(name, "logits", list(logits.shape), "|grad|", float(grad.norm()))


if __name__ == "__main__":
    torch.manual_seed(0)
    byte_lstm()
    tiny_gpt2()
