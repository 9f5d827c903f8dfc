#!/usr/bin/python3
"""The shipped text models, their tokenizers, and the PyTorch references the text tests compare with.

    /usr/bin/python3 models/make_text_models.py

Debian's python3-torch only (no transformers, no tokenizers package): the two tokenizers are implemented
here from the Hugging Face algorithms (BERT's normalizer, pre-tokenizer and greedy WordPiece; GPT-2's byte
level BPE with its pre-tokenization pattern) and written as tokenizer.json files in the Hugging Face format,
so the ids below are what the Python side used, and the TypeScript side reads the same files through
@huggingface/tokenizers (the tests hold the two equal).

- models/sentiment_bert.onnx + models/sentiment_bert.tokenizer.json: a BERT-style encoder (word + position +
  token type embeddings, LayerNorm, 2 layers of 2-head self-attention with the additive mask, erf GELU, a
  tanh pooler on [CLS], a linear head), trained briefly on templated review sentences with negation and
  "but" clauses (labels 0 negative, 1 positive); inputs input_ids, attention_mask, token_type_ids.
- models/facts_gpt.onnx (no cache) and models/facts_gpt_past.onnx (past_key_values.N.key/value inputs,
  present.N.* outputs) + models/facts_gpt.tokenizer.json: a GPT-2 style decoder (wte, wpe, 2 pre-LN blocks,
  tanh GELU, tied head) trained on templated facts ("the capital of france is paris .").

References (test/fixtures/text/text_refs.json), computed on float64 copies of the same weights:
- token ids of a list of strings under both tokenizers;
- Integrated Gradients at the word-embedding output of the classifier (Gauss-Legendre, the attention mask
  and token type ids held fixed; baselines: [PAD] embeddings with [CLS]/[SEP] kept, and zeros), with a
  padded batch of two;
- the generation matrix of the decoder: greedy continuation, and for each generated token the IG of its
  log-probability at the word embeddings of every earlier token (zero baseline, positions kept), and the
  feature-ablation matrix (each earlier token replaced by <|endoftext|>).
"""
import json
import math
import os
import random
import re
import unicodedata

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "test", "fixtures", "text")
torch.set_num_threads(2)

# ---------------------------------------------------------------- corpora

SUBJECTS = ["the movie", "the film", "the plot", "the acting", "the soundtrack", "the ending", "the food", "the service",
            "the staff", "the room", "the book", "the story", "the cast", "the dessert", "the hotel", "the show"]
POSITIVE = ["good", "great", "excellent", "wonderful", "amazing", "delightful", "brilliant", "charming", "enjoyable", "superb",
            "lovely", "fantastic"]
NEGATIVE = ["bad", "terrible", "awful", "boring", "dull", "disappointing", "horrible", "mediocre", "bland", "annoying",
            "poor", "unpleasant"]
INTENSIFIERS = ["", "", "really ", "very ", "truly ", "quite ", "so "]
VERBS_POS = ["loved", "liked", "enjoyed", "adored"]
VERBS_NEG = ["hated", "disliked", "regretted"]
FILLERS = ["", "", "", "we went on friday and ", "honestly , ", "to be fair , ", "after a long week , "]


def sentiment_sentence(rng):
    """A templated review sentence and its label (1 positive)."""
    subj = rng.choice(SUBJECTS)
    kind = rng.randrange(5)
    pos = rng.random() < 0.5
    adj = rng.choice(POSITIVE if pos else NEGATIVE)
    if kind == 0:
        s, y = f"{subj} was {rng.choice(INTENSIFIERS)}{adj} .", pos
    elif kind == 1:
        s, y = f"{subj} was not {adj} .", not pos
    elif kind == 2:
        s, y = f"i {rng.choice(VERBS_POS if pos else VERBS_NEG)} {subj} .", pos
    elif kind == 3:
        first = rng.choice(NEGATIVE if pos else POSITIVE)
        s, y = f"{subj} was {first} but {rng.choice(SUBJECTS)} was {adj} .", pos
    else:
        s, y = f"{subj} was {rng.choice(INTENSIFIERS)}{adj} and {rng.choice(SUBJECTS)} was {rng.choice(POSITIVE if pos else NEGATIVE)} !", pos
    return rng.choice(FILLERS) + s, int(y)


CAPITALS = [("france", "paris"), ("germany", "berlin"), ("italy", "rome"), ("spain", "madrid"), ("japan", "tokyo"),
            ("egypt", "cairo"), ("kenya", "nairobi"), ("peru", "lima"), ("russia", "moscow"), ("china", "beijing"),
            ("canada", "ottawa"), ("greece", "athens"), ("norway", "oslo"), ("sweden", "stockholm"), ("poland", "warsaw"),
            ("austria", "vienna"), ("portugal", "lisbon"), ("ireland", "dublin"), ("cuba", "havana"), ("chile", "santiago")]
ANIMALS = [("dog", "woof"), ("cat", "meow"), ("cow", "moo"), ("duck", "quack"), ("sheep", "baa"), ("lion", "roar"),
           ("owl", "hoot"), ("frog", "croak"), ("horse", "neigh"), ("mouse", "squeak")]
COLOURS = [("sky", "blue"), ("grass", "green"), ("snow", "white"), ("coal", "black"), ("blood", "red"), ("sun", "yellow")]


def fact_sentence(rng):
    k = rng.randrange(4)
    if k <= 1:
        c, cap = rng.choice(CAPITALS)
        return rng.choice([f"the capital of {c} is {cap} .", f"{cap} is the capital of {c} ."]) if k == 1 else f"the capital of {c} is {cap} ."
    if k == 2:
        a, snd = rng.choice(ANIMALS)
        return f"a {a} says {snd} ."
    thing, col = rng.choice(COLOURS)
    return f"the colour of the {thing} is {col} ."


# ---------------------------------------------------------------- WordPiece (BERT)

SPECIALS_BERT = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_chinese(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def bert_normalize(text):
    """BertNormalizer(clean_text, handle_chinese_chars, lowercase, strip_accents follows lowercase)."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
            continue
        if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
            out.append(" ")
        elif _is_chinese(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = "".join(out).lower()
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def bert_pre_tokenize(text):
    """BertPreTokenizer: split on whitespace, every punctuation character a word of its own."""
    words = []
    for chunk in text.split():
        cur = ""
        for ch in chunk:
            if _is_punctuation(ch):
                if cur:
                    words.append(cur)
                words.append(ch)
                cur = ""
            else:
                cur += ch
        if cur:
            words.append(cur)
    return words


def wordpiece(word, vocab, max_chars=100):
    if len(word) > max_chars:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end, cur = len(word), None
        while start < end:
            sub = word[start:end] if start == 0 else "##" + word[start:end]
            if sub in vocab:
                cur = sub
                break
            end -= 1
        if cur is None:
            return ["[UNK]"]
        pieces.append(cur)
        start = end
    return pieces


def bert_encode(text, vocab):
    tokens = ["[CLS]"] + [p for w in bert_pre_tokenize(bert_normalize(text)) for p in wordpiece(w, vocab)] + ["[SEP]"]
    return [vocab[t] for t in tokens], tokens


def bert_vocab(sentences):
    words = sorted({w for s in sentences for w in bert_pre_tokenize(bert_normalize(s))})
    # words left out of the vocabulary so that they split into pieces, as real vocabularies split rare words
    split = {"disappointing", "enjoyable", "charming", "loved", "hated", "disliked", "adored", "regretted", "annoying", "unpleasant",
             "delightful", "soundtrack"}
    stems = ["disappoint", "enjoy", "charm", "love", "hate", "like", "dis", "adore", "regret", "annoy", "un", "pleasant", "delight",
             "sound", "track"]
    suffixes = ["##ing", "##able", "##ful", "##ed", "##d", "##s", "##ly", "##er", "##track", "##pleasant", "##like", "##liked"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    punct = list(".,!?;:'\"()-")
    toks = SPECIALS_BERT + punct + letters + ["##" + c for c in letters] + suffixes + stems + [w for w in words if w not in split]
    vocab = {}
    for t in toks:
        vocab.setdefault(t, len(vocab))
    return vocab


def bert_tokenizer_json(vocab):
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
                          "special": True} for t in SPECIALS_BERT],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [cls], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [sep], "tokens": ["[SEP]"]}},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab},
    }


# ---------------------------------------------------------------- byte-level BPE (GPT-2)

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_CHARS = bytes_to_unicode()
# GPT-2's pattern, with \p{L} as [^\W\d_] and \p{N} as \d (Python's re has no \p classes; equal on the test strings,
# which hold no letter-like digits or numeric symbols)
GPT2_PATTERN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+""")
EOT = "<|endoftext|>"


def gpt2_words(text):
    return ["".join(BYTE_CHARS[b] for b in w.encode("utf-8")) for w in GPT2_PATTERN.findall(text)]


def bpe_train(texts, merges_wanted):
    counts = {}
    for t in texts:
        for w in gpt2_words(t):
            counts[w] = counts.get(w, 0) + 1
    words = {w: list(w) for w in counts}
    merges = []
    for _ in range(merges_wanted):
        pairs = {}
        for w, syms in words.items():
            for a, b in zip(syms, syms[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + counts[w]
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < 2:
            break
        merges.append(best)
        for w, syms in words.items():
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and (syms[i], syms[i + 1]) == best:
                    out.append(syms[i] + syms[i + 1])
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            words[w] = out
    return merges


def bpe_word(word, ranks):
    syms = list(word)
    while len(syms) > 1:
        pairs = [(ranks.get((a, b), math.inf), i) for i, (a, b) in enumerate(zip(syms, syms[1:]))]
        rank, _ = min(pairs)
        if rank == math.inf:
            break
        a, b = min(((a, b) for a, b in zip(syms, syms[1:]) if ranks.get((a, b)) == rank))
        out, i = [], 0
        while i < len(syms):
            if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                out.append(a + b)
                i += 2
            else:
                out.append(syms[i])
                i += 1
        syms = out
    return syms


def gpt2_encode(text, vocab, ranks):
    """Byte-level BPE; <|endoftext|> is an added token, matched before pre-tokenization."""
    ids, tokens = [], []
    for k, part in enumerate(text.split(EOT)):
        if k:
            ids.append(vocab[EOT])
            tokens.append(EOT)
        for w in gpt2_words(part):
            for p in bpe_word(w, ranks):
                ids.append(vocab[p])
                tokens.append(p)
    return ids, tokens


def gpt2_tokenizer_json(vocab, merges):
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": vocab[EOT], "content": EOT, "single_word": False, "lstrip": False, "rstrip": False, "normalized": True,
                          "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


# ---------------------------------------------------------------- models

class SelfAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h, self.hd = heads, d // heads
        self.query, self.key, self.value, self.out = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.h, self.hd).transpose(1, 2)

    def forward(self, x, additive_mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.hd) + additive_mask
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(x.shape)
        return self.out(ctx)


class BertLayer(nn.Module):
    def __init__(self, d, heads, inner):
        super().__init__()
        self.attn, self.ln1 = SelfAttention(d, heads), nn.LayerNorm(d, eps=1e-12)
        self.fc1, self.fc2, self.ln2 = nn.Linear(d, inner), nn.Linear(inner, d), nn.LayerNorm(d, eps=1e-12)

    def forward(self, x, mask):
        x = self.ln1(x + self.attn(x, mask))
        return self.ln2(x + self.fc2(F.gelu(self.fc1(x))))


class SentimentBert(nn.Module):
    """BERT's layout (post-LN, erf GELU, pooler on [CLS]), small."""

    def __init__(self, vocab, d=32, heads=2, layers=2, inner=64, max_pos=40):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, d)
        self.position_embeddings = nn.Embedding(max_pos, d)
        self.token_type_embeddings = nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList([BertLayer(d, heads, inner) for _ in range(layers)])
        self.pooler, self.classifier = nn.Linear(d, d), nn.Linear(d, 2)
        self.register_buffer("position_ids", torch.arange(max_pos).unsqueeze(0), persistent=False)

    def from_embeddings(self, words, attention_mask, token_type_ids):
        t = words.shape[1]
        x = self.ln(words + self.position_embeddings(self.position_ids[:, :t]) + self.token_type_embeddings(token_type_ids))
        mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, mask)
        return self.classifier(torch.tanh(self.pooler(x[:, 0])))

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.from_embeddings(self.word_embeddings(input_ids), attention_mask, token_type_ids)


class GptBlock(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h, self.hd = heads, d // heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x, additive_mask, past=None):
        b, t, d = x.shape
        q, k, v = self.c_attn(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, self.hd).transpose(1, 2) for z in (q, k, v))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.hd) + additive_mask
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.c_proj(ctx)
        x = x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))
        return x, (k, v)


class FactsGpt(nn.Module):
    """GPT-2's layout (pre-LN blocks, tanh GELU, final LayerNorm, head tied to wte), small."""

    def __init__(self, vocab, d=48, heads=4, layers=2, max_pos=64):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(max_pos, d)
        self.blocks = nn.ModuleList([GptBlock(d, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.heads, self.hd = heads, d // heads

    def from_embeddings(self, words, attention_mask, pasts=None):
        b, t, _ = words.shape
        past_len = 0 if pasts is None else pasts[0][0].shape[2]
        total = past_len + t
        pos = torch.arange(past_len, total, device=words.device).unsqueeze(0)
        x = words + self.wpe(pos)
        causal = torch.ones(t, total, dtype=torch.bool, device=words.device).tril(diagonal=past_len)
        keep = causal[None, None, :, :] & attention_mask[:, None, None, :].bool()
        mask = (~keep).to(x.dtype) * torch.finfo(torch.float32).min
        presents = []
        for i, blk in enumerate(self.blocks):
            x, kv = blk(x, mask, None if pasts is None else pasts[i])
            presents.append(kv)
        return self.ln_f(x) @ self.wte.weight.t(), presents

    def forward(self, input_ids, attention_mask):
        return self.from_embeddings(self.wte(input_ids), attention_mask)[0]


class FactsGptWithPast(nn.Module):
    def __init__(self, gpt):
        super().__init__()
        self.gpt = gpt

    def forward(self, input_ids, attention_mask, *past):
        pasts = [(past[2 * i], past[2 * i + 1]) for i in range(len(past) // 2)]
        logits, presents = self.gpt.from_embeddings(self.gpt.wte(input_ids), attention_mask, pasts)
        return (logits, *[z for kv in presents for z in kv])


def pad_batch(seqs, pad):
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), t), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    return ids, mask


def train_classifier(vocab):
    rng = random.Random(0)
    torch.manual_seed(0)
    data = [sentiment_sentence(rng) for _ in range(4000)]
    enc = [bert_encode(s, vocab)[0] for s, _ in data]
    labels = torch.tensor([y for _, y in data])
    model = SentimentBert(len(vocab))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    train, test = range(0, 3500), range(3500, 4000)
    for step in range(700):
        idx = [rng.choice(train) for _ in range(64)]
        ids, mask = pad_batch([enc[i] for i in idx], vocab["[PAD]"])
        loss = F.cross_entropy(model(ids, mask, torch.zeros_like(ids)), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        ids, mask = pad_batch([enc[i] for i in test], vocab["[PAD]"])
        acc = (model(ids, mask, torch.zeros_like(ids)).argmax(-1) == labels[list(test)]).double().mean().item()
    print(f"classifier: held-out accuracy {acc:.3f}, last loss {loss.item():.4f}")
    return model, acc


def train_decoder(vocab, ranks):
    rng = random.Random(1)
    torch.manual_seed(1)
    eot = vocab[EOT]
    model = FactsGpt(len(vocab))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(1500):
        seqs = []
        for _ in range(32):
            text = " ".join(fact_sentence(rng) for _ in range(rng.randint(1, 3)))
            # half the sequences open without <|endoftext|>, as prompts do
            seqs.append(([eot] if rng.random() < 0.5 else []) + gpt2_encode(text, vocab, ranks)[0] + [eot])
        ids, mask = pad_batch(seqs, eot)
        logits = model(ids[:, :-1], mask[:, :-1])
        target = ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    hits = 0
    with torch.no_grad():
        for c, cap in CAPITALS:
            ids = gpt2_encode(f"the capital of {c} is", vocab, ranks)[0]
            nxt = model(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))[0, -1].argmax().item()
            hits += gpt2_encode(" " + cap, vocab, ranks)[0][0] == nxt
    print(f"decoder: first token of the capital right for {hits}/{len(CAPITALS)} countries, last loss {loss.item():.4f}")
    return model, hits


# ---------------------------------------------------------------- references

def gauss_legendre(n):
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1) / 2, w / 2


def ig(f, x, b, steps):
    """IG of scalar f along b + a (x - b), Gauss-Legendre; float64."""
    alphas, weights = gauss_legendre(steps)
    total = torch.zeros_like(x)
    for a, w in zip(alphas, weights):
        p = (b + float(a) * (x - b)).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(p), p)
        total += float(w) * g
    attr = (x - b) * total
    with torch.no_grad():
        fx, fb = f(x).item(), f(b).item()
    return attr, fx, fb


def tj_int(t):
    return {"shape": list(t.shape), "dtype": "int64", "data": t.flatten().tolist()}


def tj(t):
    t = torch.as_tensor(t)
    return {"shape": list(t.shape), "data": t.detach().double().flatten().tolist()}


def classifier_refs(model64, vocab):
    out = []
    texts = ["the acting was really brilliant .", "honestly , the plot was not good .",
             "the food was disappointing but the service was delightful ."]
    emb = model64.word_embeddings.weight
    for text in texts:
        ids, toks = bert_encode(text, vocab)
        ids_t = torch.tensor([ids])
        mask, types = torch.ones_like(ids_t), torch.zeros_like(ids_t)
        with torch.no_grad():
            logits = model64(ids_t, mask, types)[0]
        target = int(logits.argmax())
        x = emb[ids_t].detach()
        pad_ids = torch.tensor([[i if t in ("[CLS]", "[SEP]") else vocab["[PAD]"] for i, t in zip(ids, toks)]])
        for name, b in [("pad", emb[pad_ids].detach()), ("zeros", torch.zeros_like(x))]:
            attr, fx, fb = ig(lambda e: model64.from_embeddings(e, mask, types)[0, target], x, b, 64)
            out.append({"text": text, "ids": ids, "tokens": toks, "baseline": name, "target": target, "steps": 64,
                        "logits": logits.tolist(), "attributions": tj(attr[0]), "tokenScores": attr[0].sum(-1).tolist(),
                        "output": fx, "baselineOutput": fb})
    # a padded batch of two: the shorter sentence right-padded, its mask zero there
    texts2 = ["i adored the story .", "the room was not unpleasant and the staff was lovely !"]
    encs = [bert_encode(t, vocab) for t in texts2]
    ids_t, mask = pad_batch([e[0] for e in encs], vocab["[PAD]"])
    types = torch.zeros_like(ids_t)
    with torch.no_grad():
        targets = model64(ids_t, mask, types).argmax(-1).tolist()
    rows = []
    for r in range(2):
        x = emb[ids_t[r:r + 1]].detach()
        pad_ids = ids_t[r:r + 1].clone()
        keep = [(i == vocab["[CLS]"] or i == vocab["[SEP]"]) for i in pad_ids[0].tolist()]
        pad_ids[0, [not k for k in keep]] = vocab["[PAD]"]
        attr, fx, fb = ig(lambda e: model64.from_embeddings(e, mask[r:r + 1], types[r:r + 1])[0, targets[r]], x, emb[pad_ids].detach(), 64)
        rows.append({"attributions": tj(attr[0]), "output": fx, "baselineOutput": fb})
    batch = {"texts": texts2, "ids": tj(ids_t), "attentionMask": tj(mask), "targets": targets, "steps": 64, "rows": rows}
    return out, batch


def log_prob_fn(gpt64, prefix_len, token, with_past):
    def f(words):
        mask = torch.ones(1, prefix_len, dtype=torch.long)
        if with_past:
            pasts = [(torch.zeros(1, gpt64.heads, 0, gpt64.hd, dtype=torch.float64),) * 2 for _ in gpt64.blocks]
            logits = gpt64.from_embeddings(words, mask, pasts)[0]
        else:
            logits = gpt64.from_embeddings(words, mask)[0]
        return F.log_softmax(logits[0, -1], -1)[token]
    return f


def generation_refs(gpt64, vocab, ranks):
    eot = vocab[EOT]
    cases = []
    for prompt, n in [("the capital of france is", 3), ("a cow says", 2), ("the colour of the sky", 3)]:
        ids, toks = gpt2_encode(prompt, vocab, ranks)
        seq = list(ids)
        with torch.no_grad():
            for _ in range(n):
                logits = gpt64(torch.tensor([seq]), torch.ones(1, len(seq), dtype=torch.long))[0, -1]
                seq.append(int(logits.argmax()))
        ig_rows, ablation_rows, deltas = [], [], []
        for t in range(len(ids), len(seq)):
            prefix = torch.tensor([seq[:t]])
            x = gpt64.wte(prefix).detach()
            f = log_prob_fn(gpt64, t, seq[t], False)
            attr, fx, fb = ig(f, x, torch.zeros_like(x), 64)
            ig_rows.append({"scores": attr[0].sum(-1).tolist(), "logProb": fx, "baselineLogProb": fb})
            with torch.no_grad():
                drops = []
                for j in range(t):
                    ab = prefix.clone()
                    ab[0, j] = eot
                    drops.append(fx - f(gpt64.wte(ab)).item())
            ablation_rows.append(drops)
        # the same rows through the cache path (empty pasts) must agree with the plain ones
        t = len(ids)
        x = gpt64.wte(torch.tensor([seq[:t]])).detach()
        attr_past, _, _ = ig(log_prob_fn(gpt64, t, seq[t], True), x, torch.zeros_like(x), 64)
        assert torch.allclose(attr_past[0].sum(-1), torch.tensor(ig_rows[0]["scores"], dtype=torch.float64), atol=1e-9)
        cases.append({"prompt": prompt, "promptIds": ids, "promptTokens": toks, "ids": seq, "generated": seq[len(ids):],
                      "steps": 64, "ig": ig_rows, "ablation": ablation_rows, "ablationId": eot})
    return cases


def export(model, args, path, input_names, output_names, dynamic):
    torch.onnx.export(model, args, path, input_names=input_names, output_names=output_names, dynamic_axes=dynamic, opset_version=14,
                      do_constant_folding=True)


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    rng = random.Random(0)
    sent = [sentiment_sentence(rng)[0] for _ in range(3000)]
    vocab_b = bert_vocab(sent)
    model, acc = train_classifier(vocab_b)
    with open(os.path.join(HERE, "sentiment_bert.tokenizer.json"), "w") as f:
        json.dump(bert_tokenizer_json(vocab_b), f, ensure_ascii=False)
    ids, mask = pad_batch([bert_encode("the movie was great .", vocab_b)[0]], vocab_b["[PAD]"])
    export(model, (ids, mask, torch.zeros_like(ids)), os.path.join(HERE, "sentiment_bert.onnx"), ["input_ids", "attention_mask", "token_type_ids"],
           ["logits"], {k: {0: "batch", 1: "sequence"} for k in ["input_ids", "attention_mask", "token_type_ids"]} | {"logits": {0: "batch"}})

    rng = random.Random(2)
    corpus = [fact_sentence(rng) for _ in range(3000)]
    merges = bpe_train(corpus, 400)
    vocab_g = {}
    for b in range(256):
        vocab_g[BYTE_CHARS[b]] = len(vocab_g)  # GPT-2's order of the byte symbols is by byte value here
    for a, b in merges:
        vocab_g.setdefault(a + b, len(vocab_g))
    vocab_g[EOT] = len(vocab_g)
    ranks = {m: i for i, m in enumerate(merges)}
    gpt, hits = train_decoder(vocab_g, ranks)
    with open(os.path.join(HERE, "facts_gpt.tokenizer.json"), "w") as f:
        json.dump(gpt2_tokenizer_json(vocab_g, merges), f, ensure_ascii=False)
    ids = torch.tensor([gpt2_encode("the capital of", vocab_g, ranks)[0]])
    export(gpt, (ids, torch.ones_like(ids)), os.path.join(HERE, "facts_gpt.onnx"), ["input_ids", "attention_mask"], ["logits"],
           {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}})
    past_names = [f"past_key_values.{i}.{kv}" for i in range(len(gpt.blocks)) for kv in ("key", "value")]
    present_names = [f"present.{i}.{kv}" for i in range(len(gpt.blocks)) for kv in ("key", "value")]
    pasts = [torch.zeros(1, gpt.heads, 2, gpt.hd) for _ in past_names]
    dyn = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "total_sequence"}, "logits": {0: "batch", 1: "sequence"}}
    dyn |= {n: {0: "batch", 2: "past_sequence"} for n in past_names} | {n: {0: "batch", 2: "total_sequence"} for n in present_names}
    export(FactsGptWithPast(gpt), (ids, torch.ones(1, ids.shape[1] + 2, dtype=torch.long), *pasts), os.path.join(HERE, "facts_gpt_past.onnx"),
           ["input_ids", "attention_mask", *past_names], ["logits", *present_names], dyn)

    model64, gpt64 = model.double(), gpt.double()
    tests = ["The movie was GREAT!", "the food was disappointing, but the staff was charming.", "Café Señor naïve résumé",
             "unknown words like zyzzyva and 東京 appear", "  spaces\tand\nnewlines  ", "it's 2026 -- isn't it?", "",
             "the capital of france is paris .", "a cow says moo", "emoji 🙂 and ümlauts", "back-to-back (brackets) [x]",
             "the colour of the sky is blue . <|endoftext|> a dog says woof"]
    tok_refs = [{"text": t, "bert": bert_encode(t, vocab_b)[0], "gpt": gpt2_encode(t, vocab_g, ranks)[0]} for t in tests]
    cls_cases, cls_batch = classifier_refs(model64, vocab_b)
    gen_cases = generation_refs(gpt64, vocab_g, ranks)
    with open(os.path.join(FIXTURES, "text_refs.json"), "w") as f:
        json.dump({"tokenizers": tok_refs, "classifier": cls_cases, "classifierBatch": cls_batch, "generation": gen_cases}, f)
    # one sample per model: named inputs and the float32 PyTorch output the export must reproduce (test/roundtrip.test.ts)
    model.float()
    gpt.float()
    with torch.no_grad():
        ids, toks = bert_encode("the acting was really brilliant .", vocab_b)
        ids = torch.tensor([ids])
        bert_sample = {"inputs": {"input_ids": tj_int(ids), "attention_mask": tj_int(torch.ones_like(ids)), "token_type_ids": tj_int(torch.zeros_like(ids))},
                       "torch_output": model(ids, torch.ones_like(ids), torch.zeros_like(ids)).flatten().tolist(), "output_shape": [1, 2]}
        ids = torch.tensor([gpt2_encode("the capital of france is", vocab_g, ranks)[0]])
        logits = gpt(ids, torch.ones_like(ids))
        gpt_sample = {"inputs": {"input_ids": tj_int(ids), "attention_mask": tj_int(torch.ones_like(ids))}, "torch_output": logits.flatten().tolist(),
                      "output_shape": list(logits.shape)}
        empty = {"shape": [1, gpt.heads, 0, gpt.hd], "dtype": "float32", "data": []}
        gpt_past_sample = {"inputs": {**gpt_sample["inputs"], **{n: empty for n in past_names}}, "torch_output": gpt_sample["torch_output"],
                           "output_shape": gpt_sample["output_shape"]}
    meta_path = os.path.join(HERE, "models.json")
    meta = json.load(open(meta_path))
    meta["sentiment_bert"] = {"file": "sentiment_bert.onnx", "tokenizer": "sentiment_bert.tokenizer.json",
                              "task": "review sentiment, templated sentences with negation and contrast (0 negative, 1 positive)",
                              "input": "input_ids, attention_mask, token_type_ids int64 [N,T] (WordPiece, [CLS] ... [SEP])",
                              "output": "logits [N,2]", "opset": 14, "test_accuracy": acc, "samples": {"review": bert_sample}}
    meta["facts_gpt"] = {"file": "facts_gpt.onnx", "with_past": "facts_gpt_past.onnx", "tokenizer": "facts_gpt.tokenizer.json",
                         "task": "templated facts (capitals, animal sounds, colours), next-token prediction",
                         "input": "input_ids, attention_mask int64 [N,T]; facts_gpt_past.onnx adds past_key_values.{0,1}.{key,value} [N,4,P,12]",
                         "output": "logits [N,T,V]", "opset": 14, "capitals_right": f"{hits}/{len(CAPITALS)}", "samples": {"prompt": gpt_sample}}
    meta["facts_gpt_past"] = {"file": "facts_gpt_past.onnx", "tokenizer": "facts_gpt.tokenizer.json", "task": "facts_gpt exported with past key/values",
                              "input": meta["facts_gpt"]["input"], "output": "logits [N,T,V], present.{0,1}.{key,value}", "opset": 14,
                              "samples": {"prompt, empty pasts": gpt_past_sample}}
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    print("wrote", FIXTURES)


if __name__ == "__main__":
    main()
