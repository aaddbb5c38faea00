// The built-in sinks: one registration line each.
import { builtins } from '../core/runtime/component.js'
import { containerSink } from './container/index.js'
import { fileSink } from './file.js'
import { stdoutSink } from './stdout.js'
import { cloudwatchLogsSink } from './siem/cloudwatch-logs.js'
import { elasticsearchSink } from './siem/elasticsearch.js'
import { splunkHecSink } from './siem/splunk-hec.js'

builtins.register(containerSink)
builtins.register(fileSink)
builtins.register(stdoutSink)
builtins.register(cloudwatchLogsSink)
builtins.register(elasticsearchSink)
builtins.register(splunkHecSink)
