import FoundationEssentials

extension ConfigLoader {
    /// A production configuration for `herald genconfig`, like `centrifugo genconfig` writes: fresh random
    /// `http_api.key` and `client.token.hmac_secret_key` (32 bytes each, base64url), no allowed origins, no
    /// namespaces yet, per-client limits (connections per address, command and publish rates), and the admin
    /// console off with a fresh password and secret, so turning it on is one edit. A namespace is added to `channel.namespaces` like this:
    ///
    ///     { "name": "chat", "presence": true, "allow_subscribe_for_client": true,
    ///       "allow_publish_for_subscriber": true }
    ///
    /// and its channels are then named `chat:<room>`.
    public static func generateConfig() -> String {
        """
        {
          "http_server": {
            "port": 8000
          },
          "log": {
            "level": "info"
          },
          "http_api": {
            "key": "\(randomSecret())"
          },
          "client": {
            "token": {
              "hmac_secret_key": "\(randomSecret())"
            },
            "allowed_origins": []
          },
          "channel": {
            "namespaces": []
          },
          "herald": {
            "connections_per_ip": 1000,
            "command_rate": 50,
            "command_burst": 200,
            "publish_rate": 10,
            "publish_burst": 20
          },
          "admin": {
            "enabled": false,
            "password": "\(randomSecret())",
            "secret": "\(randomSecret())"
          }
        }

        """
    }

    /// 32 bytes from the system's secure generator, base64url without padding (43 characters).
    public static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
