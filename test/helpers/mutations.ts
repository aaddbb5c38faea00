// Random byte-level mutations of a container, shared by the fuzz tests of the reader and of inspect.
import fc from 'fast-check'

export type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'set'; at: number; bytes: Uint8Array }

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 80 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  // Small integers and 0xff runs: sizes, lengths and timestamps are where decoders and formatters go wrong.
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => b.map((x) => (x & 1 ? 0xff : x & 3))) }),
)

export function mutate(src: Buffer, muts: readonly Mutation[]): Buffer {
  let b = Buffer.from(src)
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.at % (b.length + (m.kind === 'insert' ? 1 : 0))
    switch (m.kind) {
      case 'flip': if (b.length > 0) b[at] = b[at]! ^ m.mask; break
      case 'insert': b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]); break
      case 'delete': b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]); break
      case 'truncate': b = b.subarray(0, at); break
      case 'set': b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at + m.bytes.length)]).subarray(0, Math.max(b.length, at)); break
    }
  }
  return b
}
