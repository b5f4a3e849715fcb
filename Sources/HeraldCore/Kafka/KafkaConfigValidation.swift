extension HeraldConfig {
    /// The bridges' settings: brokers to reach, templates that parse, and channels in a namespace that is
    /// not durable (for a bridged channel, Kafka is the durable log).
    func validateKafka() throws(ConfigError) {
        guard kafka.enabled else { return }
        if kafka.brokers.isEmpty { throw ConfigError("kafka.brokers", "needed by kafka.bridges") }
        if kafka.catchUpReaders < 1 { throw ConfigError("kafka.catch_up_readers", "must be positive, got \(kafka.catchUpReaders)") }
        if kafka.catchUpMaxScan < 1 { throw ConfigError("kafka.catch_up_max_scan", "must be positive, got \(kafka.catchUpMaxScan)") }
        var topics: Set<String> = []
        for (index, bridge) in kafka.bridges.enumerated() {
            let path = "kafka.bridges[\(index)]"
            if bridge.topic.isEmpty { throw ConfigError(path + ".topic", "must not be empty") }
            guard topics.insert(bridge.topic).inserted else {
                throw ConfigError(path + ".topic", "topic \"\(bridge.topic)\" is bridged twice")
            }
            let template: ChannelTemplate
            do {
                template = try ChannelTemplate(bridge.channel, topic: bridge.topic)
            } catch {
                throw ConfigError(path + ".channel", "invalid template \"\(bridge.channel)\": \(error.reason)")
            }
            // Where the template alone decides the namespace; otherwise records are checked one by one.
            if let name = template.namespace {
                let described = name.isEmpty ? "channel.without_namespace" : "namespace \"\(name)\""
                guard let options = namespace(named: name) else {
                    throw ConfigError(path + ".channel", "namespace \"\(name)\" is not in channel.namespaces")
                }
                if options.durable != .none {
                    throw ConfigError(path + ".channel", "\(described) is durable: a bridged channel's log is Kafka")
                }
            }
        }
    }
}
