// Joining byte buffers on the hot paths. Buffer.concat copies through a slow path on Node 20, 22 and 24
// (measured here: 192 joins of 400 B + 1 MiB took 330–590 ms with Buffer.concat, 35–60 ms with allocUnsafe
// and TypedArray.set), and the line reader, the framer and the workers each join every byte once.

/** The bytes of `parts`, joined into a new Buffer that nothing else shares (same result as Buffer.concat). */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Buffer {
  let length = total ?? 0
  if (total === undefined) for (const p of parts) length += p.byteLength
  // From 4 KiB up, allocUnsafe gives the join its own ArrayBuffer, so it can be moved to a worker thread.
  const out = Buffer.allocUnsafe(length)
  let at = 0
  for (const p of parts) {
    if (at + p.byteLength > length) {
      out.set(p.subarray(0, length - at), at)
      return out
    }
    out.set(p, at)
    at += p.byteLength
  }
  if (at < length) out.fill(0, at)
  return out
}
