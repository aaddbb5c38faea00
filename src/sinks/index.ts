// The built-in sinks: one registration line each.
import { builtins } from '../core/runtime/component.js'
import { containerSink } from './container/index.js'
import { fileSink } from './file.js'
import { kafkaSink } from './kafka.js'
import { stdoutSink } from './stdout.js'
import { s3Sink } from './s3/index.js'
import { cloudwatchLogsSink } from './siem/cloudwatch-logs.js'
import { elasticsearchSink } from './siem/elasticsearch.js'
import { splunkHecSink } from './siem/splunk-hec.js'

builtins.register(containerSink)
builtins.register(fileSink)
builtins.register(stdoutSink)
builtins.register(kafkaSink)
builtins.register(s3Sink)
builtins.register(cloudwatchLogsSink)
builtins.register(elasticsearchSink)
builtins.register(splunkHecSink)
