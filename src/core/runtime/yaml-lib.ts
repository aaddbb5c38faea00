// The yaml library, loaded on first use. Only a pipeline read from a file (or a --set value) is YAML; `maif pack`
// builds its pipeline in code, and loading yaml took some 20 ms of its start-up. yaml is CommonJS, so requiring it
// gives the same module an `import` would.
import { createRequire } from 'node:module'
import type * as Yaml from 'yaml'

let lib: typeof Yaml | undefined

export const yaml = (): typeof Yaml => (lib ??= createRequire(import.meta.url)('yaml') as typeof Yaml)
