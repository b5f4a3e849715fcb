extension HeraldConfig {
    /// Centrifugo's secure defaults: no anonymous access, no client publishing, an API that needs a key.
    /// Every configuration file is applied on top of this.
    public static let secureDefaults = HeraldConfig()

    /// What Herald runs with when no configuration file is given, so `herald` alone is enough to try it:
    /// any client may connect, subscribe, publish and query presence, and the server API needs no key but
    /// answers loopback peers only.
    public static let development: HeraldConfig = {
        var config = HeraldConfig()
        config.developmentMode = true
        config.client.insecure = true
        config.client.allowedOrigins = ["*"]
        config.httpAPI.insecure = true
        config.channel.withoutNamespace.presence = true
        return config
    }()
}
