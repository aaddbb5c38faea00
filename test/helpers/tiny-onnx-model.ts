// Writes a tiny but real BERT-shaped sentence-embedding model directory, the layout of a Hugging Face
// export (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx), so that the ONNX embedder is
// tested through its real loading code (transformers.js, onnxruntime-node, the WordPiece tokenizer) without a
// model download. The ONNX graph is hand-encoded protobuf: inputs input_ids / attention_mask /
// token_type_ids (int64 [batch, seq]), an embedding table initializer, one Gather node, and the output
// last_hidden_state (float [batch, seq, dims]). Mean pooling over it gives the mean of the word vectors:
// texts that share words get a higher cosine, as with a real model, only without any learned meaning.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** The words the tokenizer knows, after the five special tokens. */
export const TINY_VOCAB = [
  'the', 'a', 'of', 'to', 'and', 'was', 'on', 'in', 'is', 'for',
  'database', 'connection', 'refused', 'port', 'server', 'timeout', 'error', 'deploy', 'failed', 'service',
  'budget', 'marketing', 'finance', 'approved', 'quarterly', 'meeting', 'weather', 'sunny', 'rain', 'forecast',
  'cat', 'dog', 'garden', 'flower', 'user', 'login', 'password', 'reset', 'token', 'expired',
  '##s', '##ed', '##ing', '##er',
] as const
const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const

// --- protobuf encoding (wire types: 0 varint, 2 length-delimited) ---
function varint(n: number | bigint): Buffer {
  let v = BigInt(n)
  if (v < 0n) v += 1n << 64n // int64 negatives are ten-byte two's complement varints
  const out: number[] = []
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v !== 0n) b |= 0x80
    out.push(b)
  } while (v !== 0n)
  return Buffer.from(out)
}
const key = (field: number, wire: number): Buffer => varint((field << 3) | wire)
const int = (field: number, n: number | bigint): Buffer => Buffer.concat([key(field, 0), varint(n)])
const bytes = (field: number, b: Buffer | string): Buffer => {
  const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b
  return Buffer.concat([key(field, 2), varint(buf.length), buf])
}
const msg = (field: number, ...parts: Buffer[]): Buffer => bytes(field, Buffer.concat(parts))

const INT64 = 7
const FLOAT = 1

/** ValueInfoProto: name, TypeProto.tensor_type { elem_type, shape { dim: value or param } }. */
function valueInfo(field: number, name: string, elemType: number, dims: readonly (number | string)[]): Buffer {
  const shape = Buffer.concat(dims.map((d) => msg(1, typeof d === 'number' ? int(1, d) : bytes(2, d))))
  return msg(field, bytes(1, name), msg(2, msg(1, int(1, elemType), bytes(2, shape))))
}

/** A deterministic pseudo-random table (xorshift32), so that every run writes the same model bytes. */
function table(rows: number, dims: number, seed: number): Float32Array {
  const out = new Float32Array(rows * dims)
  let s = seed >>> 0 || 1
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    out[i] = s / 0xffffffff * 2 - 1
  }
  return out
}

/** The bytes of the ONNX model: ModelProto (ir_version 8, opset 13) around the one-node graph. */
export function tinyOnnxModel(dims: number, seed = 7, nanWord?: string): Buffer {
  const vocab = SPECIAL.length + TINY_VOCAB.length
  const weights = table(vocab, dims, seed)
  // A broken model for the tests of output checks: this word's vector is NaN.
  if (nanWord !== undefined) {
    const row = SPECIAL.length + (TINY_VOCAB as readonly string[]).indexOf(nanWord)
    if (row < SPECIAL.length) throw new Error(`'${nanWord}' is not in the tiny vocabulary`)
    weights.fill(Number.NaN, row * dims, (row + 1) * dims)
  }
  const raw = Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength) // little-endian, as ONNX raw_data is
  const initializer = msg(5, int(1, vocab), int(1, dims), int(2, FLOAT), bytes(8, 'embeddings.word_embeddings.weight'), bytes(9, raw))
  const gather = msg(1, bytes(1, 'embeddings.word_embeddings.weight'), bytes(1, 'input_ids'), bytes(2, 'last_hidden_state'), bytes(3, 'word_embeddings'), bytes(4, 'Gather'),
    msg(5, bytes(1, 'axis'), int(3, 0), int(20, 2 /* AttributeProto.INT */)))
  const graph = Buffer.concat([
    gather,
    bytes(2, 'tiny-bert'),
    initializer,
    valueInfo(11, 'input_ids', INT64, ['batch_size', 'sequence_length']),
    valueInfo(11, 'attention_mask', INT64, ['batch_size', 'sequence_length']),
    valueInfo(11, 'token_type_ids', INT64, ['batch_size', 'sequence_length']),
    valueInfo(12, 'last_hidden_state', FLOAT, ['batch_size', 'sequence_length', dims]),
  ])
  return Buffer.concat([int(1, 8), bytes(2, 'maif-test'), msg(7, graph), msg(8, bytes(1, ''), int(2, 13))])
}

/** tokenizer.json of a lower-casing BERT WordPiece tokenizer over TINY_VOCAB, with [CLS] … [SEP]. */
export function tinyTokenizerJson(): object {
  const vocab: Record<string, number> = {}
  ;[...SPECIAL, ...TINY_VOCAB].forEach((w, i) => { vocab[w] = i })
  const special = (id: number, content: string): object => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((s, i) => special(i, s)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  }
}

/**
 * Writes the model directory `dir` (created if needed): config.json, tokenizer.json, tokenizer_config.json
 * and onnx/model.onnx (or model.onnx at the top with `flat`). Returns the path of the ONNX file. `nanWord`
 * makes that word's vector NaN (a broken model).
 */
export async function writeTinyOnnxModel(dir: string, opts: { dims?: number; seed?: number; flat?: boolean; nanWord?: string } = {}): Promise<string> {
  const dims = opts.dims ?? 16
  await mkdir(join(dir, 'onnx'), { recursive: true })
  const vocabSize = SPECIAL.length + TINY_VOCAB.length
  await writeFile(join(dir, 'config.json'), JSON.stringify({
    architectures: ['BertModel'], model_type: 'bert', hidden_size: dims, vocab_size: vocabSize, num_attention_heads: 1, num_hidden_layers: 0,
    max_position_embeddings: 64, type_vocab_size: 2, pad_token_id: 0,
  }, null, 2))
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()))
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({
    tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: 64,
    cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]',
  }, null, 2))
  const file = opts.flat ? join(dir, 'model.onnx') : join(dir, 'onnx', 'model.onnx')
  await writeFile(file, tinyOnnxModel(dims, opts.seed, opts.nanWord))
  return file
}
