import HeraldCore

extension TokenAuthority {
    /// The verifiers a configuration asks for: connection tokens with `client.token`'s keys, subscription
    /// tokens with `client.subscription_token`'s when it is enabled, else the same. Nil where no key is set.
    /// `admin`: the console's tokens, when it is on.
    public init(config: HeraldConfig, admin: AdminTokens? = nil) throws(ConfigError) {
        let connection = config.client.token.hasKeys ? try JWTVerifier(config.client.token, at: "client.token") : nil
        let subscriptionConfig = config.client.subscriptionToken
        let subscription: JWTVerifier?
        if subscriptionConfig.enabled {
            guard subscriptionConfig.keys.hasKeys else {
                throw ConfigError("client.subscription_token", "enabled without any key")
            }
            subscription = try JWTVerifier(subscriptionConfig.keys, at: "client.subscription_token")
        } else {
            subscription = connection
        }
        self.init(connection: connection, subscription: subscription, admin: admin?.verifier)
    }
}
