import ArgumentParser
import FoundationEssentials
import HeraldAuth
import HeraldCore

/// `herald token`: a connection token, or with `--channel` a subscription token, signed HS256 with the
/// configuration's HMAC secret, for trying things out locally (Centrifugo's `gentoken` and `gensubtoken`).
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mint an HS256 connection token (or, with --channel, a subscription token) for local testing.")

    @OptionGroup var options: ConfigOptions
    @Option(name: [.short, .long], help: "User ID (the sub claim); empty for an anonymous user.") var user = ""
    @Option(help: "Make a subscription token for this channel.") var channel: String?
    @Option(help: "Seconds until the token expires (exp); 0 for a token that never expires.") var ttl = 3600
    @Option(help: "The info claim: JSON shown to others as conn_info (chan_info for a subscription token).")
    var info: String?
    @Option(help: "Connection token: channels to subscribe at connect (server-side), comma-separated.")
    var channels: String?
    @Option(help: "HMAC secret; by default the configuration's client.token.hmac_secret_key.") var secret: String?

    func run() throws {
        let (config, _) = try options.load()
        let keys = channel != nil && config.client.subscriptionToken.enabled
            ? config.client.subscriptionToken.keys : config.client.token
        guard let secret = secret ?? (keys.hmacSecretKey.isEmpty ? nil : keys.hmacSecretKey) else {
            throw ValidationError("no HMAC secret: pass --config with client.token.hmac_secret_key, or --secret")
        }
        var claims = JSONWriter(capacity: 128)
        claims.appendRaw("{\"sub\":")
        claims.appendString(user)
        if ttl > 0 {
            claims.appendRaw(",\"exp\":")
            claims.appendInt(Int(Date().timeIntervalSince1970) + ttl)
        }
        if let channel {
            claims.appendRaw(",\"channel\":")
            claims.appendString(channel)
        }
        if let info {
            guard (try? JSONParser.parse(Array(info.utf8))) != nil else { throw ValidationError("--info is not JSON") }
            claims.appendRaw(",\"info\":")
            claims.appendRaw(info.utf8)
        }
        if let channels {
            guard channel == nil else { throw ValidationError("--channels is for connection tokens") }
            claims.appendRaw(",\"channels\":[")
            for (index, name) in channels.split(separator: ",").enumerated() {
                if index > 0 { claims.appendRaw(",") }
                claims.appendString(String(name))
            }
            claims.appendRaw("]")
        }
        claims.appendRaw("}")
        print(TokenSigner.hs256(claims: claims.bytes, secret: secret))
    }
}
