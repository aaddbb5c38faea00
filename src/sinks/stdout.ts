// Sink `stdout`: records to standard output, one per line. A record counts as delivered once the pipe took it.
import { once } from 'node:events'
import { MaifError, wrapError } from '../core/errors.js'
import { defineSink } from '../core/runtime/component.js'
import type { Batch, SinkInstance } from '../core/runtime/types.js'

export const stdoutSink = defineSink({
  type: 'stdout',
  acknowledgements: 'write',
  description: 'write records to standard output, one per line',
  options: {},
  build(): SinkInstance {
    return {
      async write(b: Batch) {
        if (b.kind !== 'lines') throw new MaifError('MAIF_ERR_RECORD', 'the stdout sink takes line records, not binary')
        try {
          if (b.data.length > 0 && !process.stdout.write(b.data)) await once(process.stdout, 'drain')
        } catch (err) {
          throw wrapError('MAIF_ERR_IO', 'writing to stdout failed', err)
        }
      },
      async close() {},
    }
  },
})
