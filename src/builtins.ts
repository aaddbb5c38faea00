// Registers every built-in component with the runtime's `builtins` registry, once, on import.
import './sources/index.js'
import './transforms/index.js'
import './sinks/index.js'

export { builtins } from './core/runtime/component.js'
