#!/usr/bin/python3
"""References for the quality metrics (test/metrics/captumMetrics.test.ts): Captum 0.8's own
captum.metrics.infidelity and sensitivity_max, run on the shipped models rebuilt in PyTorch from their
.onnx weights (float64), with the perturbations fed in (written to the JSON, so onnx-explain uses the
very same ones) and Captum's IntegratedGradients as the explanation.

    CAPTUM_SRC=/path/to/captum-v0.8.0 /usr/bin/python3 models/make_metric_refs.py

Same requirements as make_method_refs.py. CI never runs this; it reads test/fixtures/metrics/metric_refs.json.
- infidelity: the IG attributions (zero baseline, 50 Gauss-Legendre steps), perturbations I fed through
  Captum's infidelity_perturb_func_decorator(multiply_by_inputs=True) (perturbed input x - I, the
  perturbation divided by x - baseline with Captum's safe_div), normalize False and True.
- sensitivity_max: explanation_func IntegratedGradients.attribute (zero baseline, 50 Gauss-Legendre
  steps, the targets), perturb_func adding fixed uniform noise in [-radius, radius], Frobenius norm.
"""
import json
import os

import torch

from make_method_refs import rebuilt, sample, tensor_json, ours_rows, mm  # noqa: F401  (asserts Captum 0.8)
from captum.attr import IntegratedGradients
from captum.metrics import infidelity, infidelity_perturb_func_decorator, sensitivity_max
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "metrics")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    digits = rebuilt(mm.DigitsCNN(), "digits_cnn.onnx")
    tabular = rebuilt(mm.TabularMLP(np.zeros(30), np.ones(30)), "tabular_mlp.onnx")
    xd = ours_rows(torch.cat([sample("digit_3.npy"), sample("digit_7.npy")]))
    xt = ours_rows(torch.cat([sample("patient_0.npy"), sample("patient_1.npy")]))
    cases = []
    for name, model, file, input_name, x, targets, scale in [
        ("digits CNN", digits, "digits_cnn.onnx", "image", xd, [3, 7], torch.full_like(xd, 0.1)),
        # the tabular features are in raw units (areas in the hundreds): noise relative to each value
        ("tabular MLP", tabular, "tabular_mlp.onnx", "features", xt, [1, 0], 0.02 * xt.abs() + 1e-3),
    ]:
        n = 6
        ig = IntegratedGradients(model)
        attr = ig.attribute(x, target=targets, n_steps=50, method="gausslegendre")
        big = scale.repeat_interleave(n, dim=0)
        I = ours_rows(torch.randn(x.shape[0] * n, *x.shape[1:], dtype=torch.float64) * big)
        base = torch.zeros_like(x[:1])

        @infidelity_perturb_func_decorator(True)
        def perturb(inputs, baselines):
            return inputs - I

        infid = {norm: infidelity(model, perturb, x, attr, baselines=base, target=targets, n_perturb_samples=n, normalize=norm).tolist() for norm in (False, True)}
        radius = 0.05 if input_name == "image" else None
        U = ours_rows((torch.rand(x.shape[0] * n, *x.shape[1:], dtype=torch.float64) * 2 - 1) * (radius if radius else big))

        def plus_noise(inputs):
            return inputs + U

        sens = sensitivity_max(ig.attribute, x, perturb_func=plus_noise, n_perturb_samples=n, target=targets, n_steps=50, method="gausslegendre").tolist()
        cases.append({"name": name, "model": file, "input": input_name, "x": tensor_json(x), "targets": targets, "samples": n,
                      "attributions": tensor_json(attr), "perturbations": tensor_json(I), "infidelity": infid[False],
                      "infidelityNormalized": infid[True], "noise": tensor_json(U), "sensitivity": sens})
    with open(os.path.join(OUT, "metric_refs.json"), "w") as f:
        json.dump({"cases": cases}, f)
    print("wrote", OUT, [(c["name"], c["infidelity"], c["infidelityNormalized"], c["sensitivity"]) for c in cases])


if __name__ == "__main__":
    main()
