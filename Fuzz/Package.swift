// swift-tools-version: 6.1
// libFuzzer targets for the code that reads untrusted bytes, a package of its own so that building Herald
// never builds them with sanitizers. Build and run them from the repository root with `make fuzz`.
import PackageDescription

// libFuzzer supplies `main` and calls `LLVMFuzzerTestOneInput`, so each target is parsed as a library.
func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: dependencies + [.product(name: "HeraldCore", package: "Herald")],
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    )
}

let package = Package(
    name: "HeraldFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, so that `package: "Herald"` below holds whatever directory the repository is cloned into.
        .package(name: "Herald", path: ".."),
    ],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "HeraldCore", package: "Herald")]),
        fuzzTarget("FuzzClientCommand", []),
        fuzzTarget("FuzzServerAPI", ["FuzzSupport"]),
        fuzzTarget("FuzzHTTPRequest", ["FuzzSupport"]),
    ]
)
