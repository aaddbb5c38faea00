// The built-in transforms: one registration line each.
import { builtins } from '../core/runtime/component.js'
import { validateJson } from './validate-json.js'
import { frame } from './frame.js'
import { compress } from './compress.js'
import { encrypt } from './encrypt.js'
import { chain } from './chain.js'
import { sign } from './sign.js'
import { embedderIndexer } from './embedder-indexer.js'
import { audit } from './audit.js'

builtins.register(validateJson)
builtins.register(frame)
builtins.register(compress)
builtins.register(encrypt)
builtins.register(chain)
builtins.register(sign)
builtins.register(embedderIndexer)
builtins.register(audit)
