/**
 * Text in, token ids out, with the ids the model was trained with: a
 * Hugging Face tokenizer.json read by @huggingface/tokenizers (pure
 * JavaScript, Node and browsers; WordPiece, BPE, Unigram), never fetched:
 * the caller hands over the file's contents.
 */
import { Tokenizer } from '@huggingface/tokenizers';

export interface TextEncoding {
  ids: number[];
  /** The token strings, as the vocabulary spells them ('##ing', 'Ġparis'). */
  tokens: string[];
  /** Segment of each token (0 for a single text; 1 for the second of a pair where the template says so). */
  typeIds: number[];
  /** Tokens the tokenizer added or marks special ([CLS], [SEP], <|endoftext|>): kept in baselines. */
  special: boolean[];
}

/** A tokenizer.json that does not describe a tokenizer, said in a line. */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

/** Spellings of the padding, unknown, mask and end-of-text tokens, in the order they are tried. */
const PAD_TOKENS = ['[PAD]', '<pad>', '<|pad|>', '<|endoftext|>', '</s>', '<eos>'];
const EOS_TOKENS = ['<|endoftext|>', '</s>', '<eos>', '<|end_of_text|>', '[SEP]'];

export class TextTokenizer {
  private readonly tok: Tokenizer;
  private readonly specialIds: Set<number>;
  /** The token id a "removed" token becomes in a baseline or an ablation (the padding token), when the vocabulary has one. */
  readonly padId: number | undefined;
  /** The end-of-text token id, where generation stops. */
  readonly eosId: number | undefined;
  readonly vocabSize: number;

  constructor(json: unknown, config: Record<string, unknown> = {}) {
    const parsed = typeof json === 'string' ? parseJson(json) : json;
    if (!parsed || typeof parsed !== 'object' || !('model' in parsed) || typeof (parsed as { model: unknown }).model !== 'object') {
      throw new TokenizerError(`not a Hugging Face tokenizer.json: no "model" object (a tokenizer.json has "model", "normalizer", "pre_tokenizer", ...)`);
    }
    const model = (parsed as { model: { type?: string; vocab?: unknown } }).model;
    try {
      this.tok = new Tokenizer(parsed, config);
    } catch (e) {
      throw new TokenizerError(`tokenizer.json (model type ${model.type ?? 'unknown'}) could not be read: ${(e as Error).message}`);
    }
    const added = ((parsed as { added_tokens?: { id: number; content: string; special?: boolean }[] }).added_tokens ?? []);
    this.specialIds = new Set(added.filter((t) => t.special).map((t) => t.id));
    const vocab = this.tok.get_vocab(true);
    this.vocabSize = Math.max(-1, ...vocab.values()) + 1;
    const configured = (name: string) => {
      const v = config[name];
      const text = typeof v === 'string' ? v : v && typeof v === 'object' && 'content' in v ? String((v as { content: unknown }).content) : undefined;
      return text === undefined ? undefined : vocab.get(text);
    };
    const first = (names: string[]) => names.map((n) => vocab.get(n)).find((id) => id !== undefined);
    this.padId = configured('pad_token') ?? first(PAD_TOKENS);
    this.eosId = configured('eos_token') ?? first(EOS_TOKENS);
  }

  /** Tokens of a text (a pair: the second text as a tokenizer's template places it), special tokens added as the tokenizer.json says. */
  encode(text: string, pair?: string): TextEncoding {
    const e = this.tok.encode(text, { text_pair: pair ?? null, add_special_tokens: true, return_token_type_ids: true });
    return {
      ids: e.ids,
      tokens: e.tokens,
      typeIds: e.token_type_ids ?? e.ids.map(() => 0),
      special: e.ids.map((id) => this.specialIds.has(id)),
    };
  }

  /** The text of ids, as the tokenizer's decoder joins them (byte-level BPE back to UTF-8, WordPiece's ## pieces joined). */
  decode(ids: number[]): string {
    return this.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** How a token reads on its own: the decoded text of one id (' paris', '##ing' as 'ing' would lose the joint, so WordPiece keeps its spelling). */
  display(id: number): string {
    const raw = this.tok.id_to_token(id) ?? `#${id}`;
    if (this.specialIds.has(id) || raw.startsWith('##')) return raw;
    return this.tok.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  tokenId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`tokenizer.json is not JSON: ${(e as Error).message}`);
  }
}
