#!/usr/bin/env node
/**
 * Part of `pnpm bench`: the cost per generated token of attributing a
 * generation on the shipped GPT-2 style decoder (models/facts_gpt.onnx, and
 * models/facts_gpt_past.onnx fed empty pasts), against PyTorch eager on the
 * same weights, in the same run.
 *
 * Ours: explainGeneration(explainer, promptIds, { maxNewTokens: N, steps: S },
 * tokenizer) on OrtNodeRuntime (CPU EP, intraOpNumThreads = THREADS): greedy
 * generation of N tokens, then for each generated token IG (Gauss-Legendre, S
 * steps, zero baseline at the word-embedding output '/wte/Gather_output_0',
 * positions kept) of its log-probability; and method 'feature-ablation'
 * (each earlier token replaced by <|endoftext|>). (For a decoder it finds
 * causal, explainGeneration does all generated tokens in one batch, on the
 * whole sequence: packages/core/src/text/generation.ts.)
 *
 * Theirs (a Python worker started once; torch.set_num_threads(THREADS)): the
 * FactsGpt module of models/make_text_models.py rebuilt in float32 from the
 * ONNX file's initializers (its logits checked against onnxruntime-node's
 * before anything is timed), doing the same work in eager mode: greedy
 * generation (the whole prefix each step, as ours), then per generated token
 *  - eager: IG by hand, the S interpolated embeddings in one batch, one
 *    forward and one torch.autograd.grad; ablation: the t ablated prefixes and
 *    the original in one no_grad batch;
 *  - eager, one batch: the same work batched as ours batches it (every
 *    generated token at once, on the whole sequence but its last token);
 *  - Captum 0.8 (CAPTUM_SRC, default /tmp/captum where it exists):
 *    LayerIntegratedGradients at the word embedding, n_steps = S,
 *    method='gausslegendre', internal_batch_size = S (one batch). Captum takes
 *    layer baselines in id space and the zero embedding has no id, so the
 *    layer is wte wrapped to embed id -1 as zeros and the baseline ids are -1;
 *    ablation: FeatureAblation on the ids, baselines = <|endoftext|>,
 *    perturbations_per_eval = t (one batch).
 * Both sides' attribution matrices (and generated ids) must agree (relative
 * L2 < 1e-3) before any time is printed.
 *
 * Timing: each row (model, method, steps) gets an Explainer of its own; its
 * first call (which makes the sessions) is timed apart, then after one more
 * untimed call a side (warm-up) ROUNDS rounds run
 * every row once per contestant in turn (ours, eager, eager one batch,
 * Captum); min / median
 * per generated token (a call's time over N, generation included on both
 * sides).
 *
 * Where our time goes: the runtime is wrapped to count, per kind of session
 * (generation, batch check, shape probe, layer probe, gradient, forward), the
 * time spent making sessions and running them; the rest is JS (graph
 * building, IG arithmetic). Shown for the first call and the median timed
 * call; then a prompt of another length on the same Explainer, twice (engines
 * are kept per input shape: the first call at a new length pays the set-up).
 *
 * The machine may be shared: mins are the steadier figure; both are printed.
 *
 * Writes bench/results/text-bench.md and .json.
 *   node bench/text-bench.js     (TEXT_BENCH_ROUNDS=15: more rounds than 9; TEXT_BENCH_THREADS=2: threads a side, default 1)
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { python, pythonWorker, median, min, fmt, relL2 } = require('./common');

const root = path.resolve(__dirname, '..');
const ROUNDS = Number(process.env.TEXT_BENCH_ROUNDS ?? 9);
// one thread a side by default: at two on this two-core machine, PyTorch's OpenMP barriers collapse whenever anything else
// runs (IG's 4 rows: 20 ms alone, 0.5 to 3 s beside a test run), and the table would time the neighbours
const THREADS = Number(process.env.TEXT_BENCH_THREADS ?? 1);
const PROMPT = 'the capital of france is';
/** Another prompt, of another length: a new input shape for a warm Explainer. */
const OTHER_PROMPT = 'a cow says';
const N = 4;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const CAPTUM_SRC = process.env.CAPTUM_SRC ?? (fs.existsSync('/tmp/captum/captum/__init__.py') ? '/tmp/captum' : undefined);

/** The PyTorch side: one JSON request a line, one JSON answer a line (ms: the work only). */
const WORKER = String.raw`
import json, os, sys, time, traceback
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import onnx
from onnx import numpy_helper

ROOT = os.environ["TEXT_BENCH_ROOT"]
sys.path.insert(0, os.path.join(ROOT, "models"))
from make_text_models import FactsGpt  # its import sets torch's threads to 2: ours are set after

torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
captum, captum_error = None, None
if os.environ.get("CAPTUM_SRC"):
    sys.path.insert(0, os.environ["CAPTUM_SRC"])
    try:
        import captum
        from captum.attr import LayerIntegratedGradients, FeatureAblation
    except Exception as e:
        captum, captum_error = None, f"{type(e).__name__}: {e}"


def rebuild(file):
    """FactsGpt in float32 from the ONNX file's initializers: the named ones by name (the past export prefixes 'gpt.'),
    the Linear weights torch.onnx folded into transposed 'onnx::MatMul_N' by the MatMul node that takes them
    ('/blocks.0/c_attn/MatMul' -> blocks.0.c_attn.weight); the head ('/MatMul') must be wte transposed (tied)."""
    m = onnx.load(os.path.join(ROOT, "models", file))
    inits = {t.name: numpy_helper.to_array(t).copy() for t in m.graph.initializer}
    wte = next(v for k, v in inits.items() if k.endswith("wte.weight"))
    wpe = next(v for k, v in inits.items() if k.endswith("wpe.weight"))
    gpt = FactsGpt(wte.shape[0], d=wte.shape[1], max_pos=wpe.shape[0])
    state = gpt.state_dict()
    loaded, head = {}, None
    for k, v in inits.items():
        name = k[4:] if k.startswith("gpt.") else k
        if name in state:
            loaded[name] = v
    for n in m.graph.node:
        for i in n.input:
            if n.op_type == "MatMul" and i.startswith("onnx::MatMul"):
                if n.name == "/MatMul":
                    head = inits[i]
                else:
                    loaded[n.name.strip("/").rsplit("/", 1)[0].replace("/", ".") + ".weight"] = inits[i].T
    missing = sorted(set(state) - set(loaded))
    if missing:
        raise RuntimeError(f"{file}: no initializer for {missing}")
    for k, v in loaded.items():
        if tuple(v.shape) != tuple(state[k].shape):
            raise RuntimeError(f"{file}: {k} is {v.shape} in the ONNX file, {tuple(state[k].shape)} in FactsGpt")
    if head is None or not np.array_equal(head.T, loaded["wte.weight"]):
        raise RuntimeError(f"{file}: the head is not wte transposed")
    gpt.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)).float() for k, v in loaded.items()})
    return gpt.float().eval()


class ZeroableWte(nn.Module):
    """wte, but id -1 embeds to zeros: Captum's layer IG takes its baseline in id space, and the zero embedding has no id."""
    def __init__(self, wte):
        super().__init__()
        self.wte = wte

    def forward(self, ids):
        return self.wte(ids.clamp(min=0)) * (ids >= 0).unsqueeze(-1).to(self.wte.weight.dtype)


class Model:
    def __init__(self, file):
        self.gpt = rebuild(file)
        self.past = "past" in file
        self.zwte = ZeroableWte(self.gpt.wte)
        self.gl = {}

    def logits_from(self, words, mask):
        g, b = self.gpt, words.shape[0]
        pasts = [(torch.zeros(b, g.heads, 0, g.hd),) * 2 for _ in g.blocks] if self.past else None
        return g.from_embeddings(words, mask, pasts)[0]

    def next_log_probs(self, ids, mask):
        """ids [B, T] -> log p(next token | ids) [B, V] (Captum's forward)."""
        return F.log_softmax(self.logits_from(self.zwte(ids), mask)[:, -1], -1)

    def generate(self, ids, n, eos):
        seq = list(ids)
        with torch.no_grad():
            for _ in range(n):
                t = torch.tensor([seq])
                nxt = int(self.logits_from(self.gpt.wte(t), torch.ones_like(t))[0, -1].argmax())
                seq.append(nxt)
                if nxt == eos:
                    break
        return seq

    def alphas(self, steps):
        if steps not in self.gl:
            x, w = np.polynomial.legendre.leggauss(steps)
            self.gl[steps] = (torch.tensor(0.5 * (x + 1), dtype=torch.float32).reshape(-1, 1, 1), torch.tensor(0.5 * w, dtype=torch.float32).reshape(-1, 1, 1))
        return self.gl[steps]

    def ig_row(self, prefix, target, steps):
        """IG at the word embeddings, zero baseline: the steps in one batch, one forward, one autograd.grad."""
        a, w = self.alphas(steps)
        x = self.gpt.wte(prefix).detach()
        points = (a * x).requires_grad_(True)
        lp = F.log_softmax(self.logits_from(points, torch.ones(steps, prefix.shape[1], dtype=torch.long))[:, -1], -1)[:, target]
        (g,) = torch.autograd.grad(lp.sum(), points)
        return (x[0] * (w * g).sum(0)).sum(-1)

    def ig_all(self, seq, first, steps):
        """IG for every generated token in one batch, as ours: each row the whole sequence but its last token (the decoder
        is causal, so the tokens after a position add nothing to its log-probability), S rows per token."""
        a, w = self.alphas(steps)
        whole = torch.tensor([seq[:-1]])
        t_len, ts = whole.shape[1], list(range(first, len(seq)))
        x = self.gpt.wte(whole).detach()
        points = (a * x).repeat(len(ts), 1, 1).requires_grad_(True)
        logits = self.logits_from(points, torch.ones(points.shape[0], t_len, dtype=torch.long))
        rows = torch.arange(len(ts) * steps)
        pos = torch.tensor([t - 1 for t in ts]).repeat_interleave(steps)
        tok = torch.tensor([seq[t] for t in ts]).repeat_interleave(steps)
        lp = F.log_softmax(logits[rows, pos], -1)[rows, tok]  # each row's own position only
        (g,) = torch.autograd.grad(lp.sum(), points)
        scores = (x * (w * g.reshape(len(ts), steps, t_len, -1)).sum(1)).sum(-1)
        return [scores[k, :t] for k, t in enumerate(ts)]

    def ablation_all(self, seq, first, eos):
        """Ablation for every generated token in one batch: the whole sequence but its last token with each token replaced,
        and the original; token t reads its log-probability at position t - 1."""
        whole = torch.tensor([seq[:-1]])
        t_len = whole.shape[1]
        rows = whole.repeat(t_len + 1, 1)
        k = torch.arange(t_len)
        rows[k + 1, k] = eos
        ts = list(range(first, len(seq)))
        with torch.no_grad():
            logits = self.logits_from(self.gpt.wte(rows), torch.ones_like(rows))
            lp = F.log_softmax(logits[:, [t - 1 for t in ts]], -1)  # the generated tokens' positions only
        return [lp[0, k, seq[t]] - lp[1:t + 1, k, seq[t]] for k, t in enumerate(ts)]

    def captum_ig_row(self, prefix, target, steps):
        lig = LayerIntegratedGradients(self.next_log_probs, self.zwte)
        attr = lig.attribute(prefix, baselines=torch.full_like(prefix, -1), target=target, additional_forward_args=(torch.ones_like(prefix),),
                             n_steps=steps, method="gausslegendre", internal_batch_size=steps)
        return attr[0].sum(-1).detach()

    def ablation_row(self, prefix, target, eos):
        """Each earlier token replaced by eos: the t ablated prefixes and the original in one batch."""
        t = prefix.shape[1]
        rows = prefix.repeat(t + 1, 1)
        k = torch.arange(t)
        rows[k + 1, k] = eos
        with torch.no_grad():
            lp = self.next_log_probs(rows, torch.ones_like(rows))[:, target]
        return lp[0] - lp[1:]

    def captum_ablation_row(self, prefix, target, eos):
        with torch.no_grad():
            attr = FeatureAblation(self.next_log_probs).attribute(prefix, baselines=eos, target=target, additional_forward_args=(torch.ones_like(prefix),),
                                                                  perturbations_per_eval=prefix.shape[1])
        return attr[0].float()


def explain(m, req):
    row = {"batched-ig": None, "batched-ablation": None, "eager-ig": lambda p, t: m.ig_row(p, t, req["steps"]), "captum-ig": lambda p, t: m.captum_ig_row(p, t, req["steps"]),
           "eager-ablation": lambda p, t: m.ablation_row(p, t, req["eos"]), "captum-ablation": lambda p, t: m.captum_ablation_row(p, t, req["eos"])}[req["how"]]
    t0 = time.perf_counter()
    seq = m.generate(req["ids"], req["n"], req["eos"])
    t1 = time.perf_counter()
    first = len(req["ids"])
    if req["how"] == "batched-ig":
        rows = [r.tolist() for r in m.ig_all(seq, first, req["steps"])]
    elif req["how"] == "batched-ablation":
        rows = [r.tolist() for r in m.ablation_all(seq, first, req["eos"])]
    else:
        rows = [row(torch.tensor([seq[:t]]), seq[t]).tolist() for t in range(first, len(seq))]
    t2 = time.perf_counter()
    return {"ids": seq, "rows": rows, "ms": (t2 - t0) * 1e3, "generateMs": (t1 - t0) * 1e3}


def main():
    models = {}
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "captum": getattr(captum, "__version__", None), "captumError": captum_error}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["file"] not in models:
                models[req["file"]] = Model(req["file"])
            m = models[req["file"]]
            if req["op"] == "logits":
                ids = torch.tensor([req["ids"]])
                with torch.no_grad():
                    out = {"logits": m.logits_from(m.gpt.wte(ids), torch.ones_like(ids))[0].flatten().tolist()}
            else:
                out = explain(m, req)
        except Exception:
            out = {"error": traceback.format_exc()}
        print(json.dumps(out), flush=True)


main()
`;

/**
 * The runtime, counting per kind of session the time spent making sessions (encoding the model and onnxruntime's
 * set-up) and running them, into whatever `t` is current when it happens (sessions outlive a reset: cached ones).
 */
class TimedRuntime {
  constructor(core, inner) {
    this.core = core;
    this.inner = inner;
    this.name = inner.name;
    this.reset();
  }
  reset() {
    const before = this.t;
    this.t = { sessions: 0, setup: 0, runs: 0, run: 0, kinds: {} };
    return before;
  }
  /** What a session is for: from who asks for it (generation, tryBatch, probeModel), else from its outputs. */
  static kind(model, stack) {
    const callers = stack.split('\n').slice(2, 4).join('\n');
    if (/Explainer\.session\b/.test(callers) || /\bexplainGeneration\b/.test(stack.split('\n')[2] ?? '')) return 'generation';
    if (/\btryBatch\b/.test(stack)) return 'batch check';
    if (/\bprobeModel\b/.test(stack)) return 'shape probe';
    const outs = model.graph.output.map((o) => o.name);
    if (outs.length === 1 && !['token_log_probs', 'next_token_log_probs'].includes(outs[0])) return 'layer probe';
    return outs.length > 1 ? 'gradient' : 'forward';
  }
  kindOf(kind) {
    return (this.t.kinds[kind] ??= { sessions: 0, setup: 0, runs: 0, run: 0 });
  }
  async createSession(model) {
    const kind = TimedRuntime.kind(model, new Error().stack);
    const t0 = now();
    const s = await this.inner.createSession(this.core.encodeModel(model));
    const ms = now() - t0;
    this.t.sessions++;
    this.t.setup += ms;
    this.kindOf(kind).sessions++;
    this.kindOf(kind).setup += ms;
    const self = this;
    return {
      get inputNames() {
        return s.inputNames;
      },
      get outputNames() {
        return s.outputNames;
      },
      async run(feeds, outputs) {
        const r0 = now();
        try {
          return await s.run(feeds, outputs);
        } finally {
          const ms = now() - r0;
          self.t.runs++;
          self.t.run += ms;
          self.kindOf(kind).runs++;
          self.kindOf(kind).run += ms;
        }
      },
      release: () => s.release(),
    };
  }
}

async function main() {
  const loadBefore = os.loadavg()[0];
  const core = require(path.join(root, 'packages/core/dist'));
  const node = require(path.join(root, 'packages/node/dist'));
  const runtime = new TimedRuntime(core, new node.OrtNodeRuntime({ executionProviders: ['cpu'], intraOpNumThreads: THREADS }));
  const tokenizer = new core.TextTokenizer(fs.readFileSync(path.join(root, 'models/facts_gpt.tokenizer.json'), 'utf8'));
  const promptIds = tokenizer.encode(PROMPT).ids;
  const otherIds = tokenizer.encode(OTHER_PROMPT).ids;
  const eos = tokenizer.eosId;
  const padId = tokenizer.padId ?? 0;
  const files = ['facts_gpt.onnx', 'facts_gpt_past.onnx'];
  const models = Object.fromEntries(files.map((f) => [f, core.decodeModel(fs.readFileSync(path.join(root, 'models', f)))]));

  if (!fs.existsSync(python) || spawnSync(python, ['-c', 'import torch, onnx'], { stdio: 'ignore' }).status !== 0) {
    process.stderr.write(`text-bench: ${python} with torch and onnx is needed for the PyTorch side; not run\n`);
    return;
  }
  const py = pythonWorker(['-c', WORKER], { TEXT_BENCH_ROOT: root, BENCH_THREADS: String(THREADS), ...(CAPTUM_SRC ? { CAPTUM_SRC } : {}) });
  py.child.on('exit', (code) => {
    if (code) {
      process.stderr.write(`text-bench: the Python worker exited with ${code} (run its source, WORKER in this file, by hand to see why)\n`);
      process.exit(1);
    }
  });
  const pyInfo = await py.ready;
  const ask = async (req) => {
    const r = await py.ask(req);
    if (r.error) throw new Error(`PyTorch side, ${JSON.stringify({ ...req, ids: undefined })}:\n${r.error}`);
    return r;
  };
  const captum = !!pyInfo.captum;
  const contestants = ['eager', 'batched', ...(captum ? ['captum'] : [])];
  const label = { eager: 'PyTorch eager', batched: 'PyTorch eager, one batch', captum: 'Captum' };
  const checks = [];

  // 1. the rebuilt module's logits against onnxruntime-node's, over the prompt and its greedy continuation
  const ids = (await ask({ op: 'explain', how: 'eager-ablation', file: files[0], ids: promptIds, n: N, eos })).ids;
  for (const f of files) {
    const ex = new core.Explainer(runtime, models[f]);
    const session = await runtime.createSession(models[f]);
    const out = await session.run(core.textFeeds(ex.summary, [{ ids }], padId), [core.explainedOutput(models[f])]);
    await session.release();
    await ex.release();
    const ort = Object.values(out)[0].data;
    const torchLogits = (await ask({ op: 'logits', file: f, ids })).logits;
    let worst = 0;
    for (let i = 0; i < ort.length; i++) worst = Math.max(worst, Math.abs(ort[i] - torchLogits[i]));
    if (ort.length !== torchLogits.length || !(worst < 1e-4)) throw new Error(`${f}: the rebuilt module's logits differ from onnxruntime-node's by ${worst} (${torchLogits.length} vs ${ort.length} values)`);
    checks.push(`${f}: the rebuilt FactsGpt's logits over the ${ids.length} tokens (prompt + ${N} generated) equal onnxruntime-node's within ${worst.toExponential(1)} (max abs)`);
  }

  // 2. the rows, each on an Explainer of its own; its first call (cold) apart; both sides' matrices compared
  const rows = [];
  for (const file of files) {
    for (const steps of [32, 64]) rows.push({ file, what: `IG, ${steps} steps`, opts: { maxNewTokens: N, steps }, eager: 'eager-ig', batched: 'batched-ig', captum: 'captum-ig', steps });
    rows.push({ file, what: 'feature ablation', opts: { maxNewTokens: N, method: 'feature-ablation', baseline: eos }, eager: 'eager-ablation', batched: 'batched-ablation', captum: 'captum-ablation' });
  }
  const theirs = (row, c) => ask({ op: 'explain', how: row[c], file: row.file, ids: promptIds, n: N, eos, steps: row.steps });
  for (const row of rows) {
    row.explainer = new core.Explainer(runtime, models[row.file]);
    runtime.reset();
    const t0 = now();
    const g = await core.explainGeneration(row.explainer, promptIds, row.opts, tokenizer);
    row.firstMs = now() - t0;
    row.firstPieces = runtime.reset();
    row.generated = g.generated.length;
    row.ids = g.ids;
    row.causal = g.causal;
    const matrix = g.generated.map((x) => x.scores);
    row.check = {};
    for (const c of contestants) {
      const r = await theirs(row, c);
      if (JSON.stringify(r.ids) !== JSON.stringify(g.ids)) throw new Error(`${row.file} ${row.what}: ${label[c]} generated ${r.ids}, ours ${g.ids}`);
      const d = relL2(matrix.flat(), r.rows.flat());
      const worstRow = Math.max(...matrix.map((sc, k) => relL2(sc, r.rows[k])));
      row.check[c] = { relL2: d, worstRow };
      if (!(d < 1e-3)) throw new Error(`${row.file} ${row.what}: our matrix and ${label[c]}'s differ, relative L2 ${d.toExponential(2)} (worst row ${worstRow.toExponential(2)})`);
      await theirs(row, c); // warm-up
    }
    await core.explainGeneration(row.explainer, promptIds, row.opts, tokenizer); // ours' warm-up (onnxruntime's first runs at a shape are slower)
    const how = row.causal === undefined ? '' : row.causal ? ' (found causal: all rows in one pass)' : ' (not found causal: a pass per row)';
    checks.push(`${row.file}, ${row.what}${how}: the ${row.generated} x ${row.ids.length - 1} matrix, relative L2 to ${contestants.map((c) => `${label[c]} ${row.check[c].relL2.toExponential(1)} (worst row ${row.check[c].worstRow.toExponential(1)})`).join(', ')}`);
  }
  process.stderr.write(checks.map((c) => `check: ${c}\n`).join(''));

  // 3. the timed rounds: every row, ours (on the row's Explainer) then each PyTorch contestant, round after round
  for (const row of rows) {
    row.ours = [];
    row.pieces = [];
    row.theirs = Object.fromEntries(contestants.map((c) => [c, { ms: [], generateMs: [] }]));
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of rows) {
      runtime.reset();
      const t0 = now();
      await core.explainGeneration(row.explainer, promptIds, row.opts, tokenizer);
      row.ours.push(now() - t0);
      row.pieces.push(runtime.reset());
      for (const c of contestants) {
        const r = await theirs(row, c);
        row.theirs[c].ms.push(r.ms);
        row.theirs[c].generateMs.push(r.generateMs);
      }
    }
    process.stderr.write(`round ${round + 1} of ${ROUNDS}\n`);
  }

  // 4. a prompt of another length on the same (warm) Explainer: a new input shape, twice
  for (const row of rows) {
    const t0 = now();
    await core.explainGeneration(row.explainer, otherIds, row.opts, tokenizer);
    const t1 = now();
    await core.explainGeneration(row.explainer, otherIds, row.opts, tokenizer);
    row.otherShape = { first: t1 - t0, again: now() - t1 };
    await row.explainer.release();
    delete row.explainer;
  }
  py.stop();

  // the report
  const perToken = (xs, row) => xs.map((x) => x / row.generated);
  const spread = (xs) => `${fmt(min(xs))} / ${fmt(median(xs))}`;
  const times = (ours, th) => {
    const r = ours / th;
    return r >= 1 ? `${r.toFixed(r < 10 ? 2 : 1)}x slower` : `${(1 / r).toFixed(2)}x faster`;
  };
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', 'packages/core', 'packages/node'], { cwd: root, encoding: 'utf8' }).stdout.trim() ? ' (packages/core or node modified)' : '';
  const machine = `${os.cpus()[0].model.replace(/ \d+-Core.*/, '')}, ${os.cpus().length} cores`;
  const date = new Date().toISOString().slice(0, 10);
  const continuation = rows[0].ids.slice(promptIds.length).map((id) => tokenizer.display(id)).join('');
  const kinds = ['generation', 'batch check', 'shape probe', 'layer probe', 'gradient', 'forward'];
  /** "set-up ms (sessions)" of one kind in one call's pieces, or of all of them. */
  const setup = (p, k) => {
    const x = k ? p.kinds[k] : p;
    if (!x) return '-';
    return x.sessions ? `${fmt(x.setup)} (${x.sessions})` : 'none';
  };
  const piecesRow = (r, p, total) => `${fmt(total)} | ${setup(p)} | ${kinds.map((k) => setup(p, k)).join(' / ')} | ${fmt(p.run)} (${p.runs}) | ${fmt(total - p.setup - p.run)}`;
  const medianPieces = (r) => {
    const i = r.ours.indexOf(median(r.ours));
    return { total: r.ours[i], p: r.pieces[i] };
  };
  const md = [
    '# Attributing a generation: time per generated token',
    '',
    `${machine}, Node ${process.version}, onnxruntime-node CPU EP with ${THREADS} intra-op thread${THREADS > 1 ? 's' : ''}; PyTorch ${pyInfo.torch} eager with ${pyInfo.threads} thread${pyInfo.threads > 1 ? 's' : ''}${captum ? `, Captum ${pyInfo.captum}` : `; Captum not timed${pyInfo.captumError ? ` (${pyInfo.captumError})` : ' (set CAPTUM_SRC)'}`}; commit ${commit}${dirty}; ${date}; 1-minute load average ${loadBefore.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end.`,
    `Prompt "${PROMPT}" (${promptIds.length} tokens), ${N} tokens generated greedily ("${continuation}"), each attributed to every token before it. A call generates and attributes; its time is divided by ${N}. ` +
      `Ours: explainGeneration on one Explainer per row; its first call (set-up included) apart, one warm-up call a side, then ${ROUNDS} rounds, each row run once per contestant in turn (ours, ${contestants.map((c) => label[c]).join(', ')}); min / median. ` +
      `PyTorch eager: greedy generation, then per token the IG steps in one batch, one forward and one torch.autograd.grad; ablation's t prefixes and the original in one no_grad batch. ` +
      `PyTorch eager, one batch: what ours does, by hand: every generated token at once on the whole sequence but its last token (N x S rows, one forward, one grad; ablation: each of the T - 1 tokens replaced, and the original, in one forward). ${captum ? 'Captum: LayerIntegratedGradients on wte (id -1 embeds as zeros: the zero baseline), internal_batch_size = steps; FeatureAblation over the ids, perturbations_per_eval = t. ' : ''}` +
      'Ratios: our median over theirs, then our min over theirs.',
    '',
    `| model | method | ours, first call | ours (min / median) | ${contestants.map((c) => `${label[c]} (min / median)`).join(' | ')} | ${contestants.map((c) => `ours vs ${label[c]}`).join(' | ')} |`,
    `| --- | --- | --- | --- | ${contestants.map(() => '---').join(' | ')} | ${contestants.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => {
      const ours = perToken(r.ours, r);
      const th = contestants.map((c) => perToken(r.theirs[c].ms, r));
      return `| ${r.file} | ${r.what} | ${fmt(r.firstMs / r.generated)} | ${spread(ours)} | ${th.map(spread).join(' | ')} | ${th.map((t) => `${times(median(ours), median(t))}, ${times(min(ours), min(t))}`).join(' | ')} |`;
    }),
    '',
    '## Where our time goes',
    '',
    `Whole calls (not per token): the first call on a fresh Explainer, and the timed call of median time. The runtime counts the time spent making onnxruntime sessions (encoding the model, onnxruntime's set-up; sessions made in parentheses), by kind: greedy generation; for the attribution (all generated tokens in one batch where the decoder is found causal) a batch check (tryBatch), a shape probe (probeModel: every intermediate tensor exposed), for IG a layer probe (the embedding) and the gradient model, for ablation the forward model. ` +
      '"runs": time in session runs (runs made); "rest": what is left (graph building and cutting, IG arithmetic, JS). Last, a prompt of another length ("' + OTHER_PROMPT + `", ${otherIds.length} tokens) on the same Explainer, twice: the first builds engines for the new input shape. PyTorch eager's own split: generation, then attribution.`,
    '',
    `| model | method | call | total | set-up (sessions) | set-up by kind: ${kinds.join(' / ')} | runs | rest |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.flatMap((r) => {
      const m = medianPieces(r);
      return [`| ${r.file} | ${r.what} | first | ${piecesRow(r, r.firstPieces, r.firstMs)} |`, `| | | median timed | ${piecesRow(r, m.p, m.total)} |`];
    }),
    '',
    `| model | method | ours: first call - median call (one-off) | ours: other prompt length, first / again | ours, median call: generation runs / the rest | PyTorch eager, median call: generation / attribution |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => {
      const m = medianPieces(r);
      const genRuns = m.p.kinds.generation?.run ?? 0;
      const e = r.theirs.eager;
      const eGen = median(e.generateMs);
      const eAttr = median(e.ms.map((x, i) => x - e.generateMs[i]));
      return `| ${r.file} | ${r.what} | ${fmt(r.firstMs - m.total)} | ${fmt(r.otherShape.first)} / ${fmt(r.otherShape.again)} | ${fmt(genRuns)} / ${fmt(m.total - genRuns)} | ${fmt(eGen)} / ${fmt(eAttr)} |`;
    }),
    '',
    'Checks, before anything was timed:',
    ...checks.map((c) => `- ${c}`),
    '',
  ].join('\n');
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench/results/text-bench.md'), md);
  fs.writeFileSync(
    path.join(root, 'bench/results/text-bench.json'),
    JSON.stringify({ machine, node: process.version, python: pyInfo, threads: THREADS, commit, date, rounds: ROUNDS, prompt: PROMPT, promptIds, maxNewTokens: N, checks, rows }, null, 1),
  );
  process.stdout.write(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
