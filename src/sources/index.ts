// The built-in sources: one registration line each.
import { builtins } from '../core/runtime/component.js'
import { fileSource } from './file/index.js'
import { kafkaSource } from './kafka/index.js'
import { stdinSource } from './stdin.js'
import { s3Source } from './s3/index.js'

builtins.register(fileSource)
builtins.register(stdinSource)
builtins.register(kafkaSource)
builtins.register(s3Source)
