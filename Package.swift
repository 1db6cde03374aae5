// swift-tools-version: 6.1
// EdgeVLM: a MiniCPM-V runtime, device agent and fleet coordinator.
// Module graph: see ARCHITECTURE.md. The runtime half (GGUF … Runtime) builds without any
// network or database package; set EDGEVLM_RUNTIME_ONLY=1 to build just that half (fast
// iteration on kernels and models; CI always builds everything).
import PackageDescription
import Foundation

let environment = ProcessInfo.processInfo.environment
let runtimeOnly = environment["EDGEVLM_RUNTIME_ONLY"] == "1"
/// EDGEVLM_PORTABLE=1 builds for the baseline ISA of the host architecture (no AVX2/FMA flags).
let portable = environment["EDGEVLM_PORTABLE"] == "1"

#if arch(x86_64)
let cpuSwiftFlags: [String] = portable ? [] : ["-target-cpu", "haswell"]
#else
let cpuSwiftFlags: [String] = []
#endif
let kernelSwiftSettings: [SwiftSetting] = cpuSwiftFlags.isEmpty ? [] : [.unsafeFlags(cpuSwiftFlags)]

var dependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
]
var targets: [Target] = [
    // MARK: C shims
    .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                   providers: [.apt(["libsqlite3-dev"])]),
    .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                   providers: [.apt(["libopenblas-dev"])]),
    .target(name: "CJPEG", path: "Sources/CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
    .target(name: "CPNG", path: "Sources/CPNG", linkerSettings: [.linkedLibrary("png16")]),
    .target(name: "CKernels", path: "Sources/CKernels",
            cSettings: [.unsafeFlags(["-O3"])]),
    .target(name: "CDelegate", path: "Sources/CDelegate"),
    // V4L2 MJPEG capture through the kernel's own <linux/videodev2.h> (the agent's cameras).
    .target(name: "CV4L2", path: "Sources/CV4L2"),

    // MARK: runtime half
    .target(name: "GGUF"),
    .target(name: "Kernels", dependencies: ["GGUF", "CKernels", "CBLAS"],
            swiftSettings: kernelSwiftSettings),
    .target(name: "Backends", dependencies: ["GGUF", "Kernels", "CDelegate"]),
    .target(name: "Tokenizer", dependencies: ["GGUF"]),
    // Imaging is optimised in debug builds too (its tests resize megapixel images) and uses
    // the kernels' CPU level (32-bit integer multiplies vectorise from SSE4.1/AVX2 on).
    .target(name: "Imaging", dependencies: ["CJPEG", "CPNG"],
            swiftSettings: [.unsafeFlags(["-O"] + cpuSwiftFlags)]),
    .target(name: "Models", dependencies: ["GGUF", "Kernels", "Backends"],
            swiftSettings: kernelSwiftSettings),
    .target(name: "Runtime", dependencies: ["Models", "Backends", "Tokenizer", "Imaging"]),
    .target(name: "JobQueue", dependencies: ["CSQLite"]),

    .testTarget(name: "GGUFTests", dependencies: ["GGUF"]),
    .testTarget(name: "KernelsTests", dependencies: ["Kernels", "GGUF"]),
    .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "GGUF"], exclude: ["Fixtures"]),
    .testTarget(name: "ImagingTests", dependencies: ["Imaging"]),
    .testTarget(name: "JobQueueTests", dependencies: ["JobQueue"]),
    .testTarget(name: "ModelsTests", dependencies: ["Models", "GGUF", "Kernels"]),
    .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Models", "Imaging", "Tokenizer", "Backends", "ReferenceDelegateBuilder"]),
    .testTarget(name: "BackendsTests", dependencies: ["Backends", "Kernels", "GGUF", "ReferenceDelegateBuilder"]),
    // Builds Tests/Fixtures/ReferenceDelegate with cc for the tests that load it.
    .target(name: "ReferenceDelegateBuilder", path: "Tests/Support/ReferenceDelegateBuilder"),
]

/// The coordinator executable's dependencies; the fleet half adds the `Coordinator` module.
var coordinatorCLIDependencies: [Target.Dependency] = [
    .product(name: "ArgumentParser", package: "swift-argument-parser"),
]

var cliDependencies: [Target.Dependency] = [
    "GGUF", "Kernels", "Runtime", "JobQueue", "Tokenizer", "Imaging",
    .product(name: "ArgumentParser", package: "swift-argument-parser"),
]

if !runtimeOnly {
    // Fleet half: heavier packages, only needed by the agent and the coordinator.
    dependencies += [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-certificates", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", exact: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
        // Direct for the agent's TLS check at a time-floored clock (already in the graph via gRPC).
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        // Model downloads by HTTP range (issue 9).
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
    ]
    // Device agent (issue 7): services, sources, worker, local API, sd_notify.
    let agentDependencies: [Target.Dependency] = [
        "JobQueue", "Runtime", "Imaging", "Kernels", "CV4L2",
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "TOMLKit", package: "TOMLKit"),
        .product(name: "Crypto", package: "swift-crypto"),
        // Sync (issue 8 item 7): the coordinator's wire contract and a gRPC client.
        "FleetProtocol",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        "GGUF",
    ]
    targets += [
        .target(name: "Agent", dependencies: agentDependencies),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "JobQueue", "FleetProtocol", "ReferenceDelegateBuilder",
                                                       .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                       .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                                                       .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                       .product(name: "X509", package: "swift-certificates"),
                                                       .product(name: "SwiftASN1", package: "swift-asn1"),
                                                       .product(name: "Crypto", package: "swift-crypto")]),
        // Test support: the real Agent services with a deterministic caption engine, started as
        // a separate process by the reliability tests (kill -9, disk full). Not shipped.
        .executableTarget(name: "edgevlm-agent-testhost",
                          dependencies: ["Agent", "JobQueue",
                                         .product(name: "Crypto", package: "swift-crypto")],
                          path: "Tests/AgentTestHost"),
    ]
    cliDependencies.append("Agent")
    // MARK: fleet coordinator (issue 8)
    let grpcDependencies: [Target.Dependency] = [
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
    ]
    targets += [
        .target(name: "FleetProtocol", dependencies: [
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        ]),
        .target(name: "Coordinator", dependencies: ["FleetProtocol", "CSQLite", "GGUF"] + grpcDependencies + [
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "edgevlm-loadgen", dependencies: [
            "FleetProtocol",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ] + grpcDependencies, path: "Sources/edgevlm-loadgen"),
        .testTarget(name: "CoordinatorTests", dependencies: ["Coordinator", "FleetProtocol"] + grpcDependencies + [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
    coordinatorCLIDependencies += ["Coordinator", "FleetProtocol", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                                   .product(name: "Crypto", package: "swift-crypto")] + grpcDependencies
}

targets += [
    .executableTarget(name: "edgevlm", dependencies: cliDependencies, path: "Sources/edgevlm"),
    .executableTarget(name: "EdgeVLMCoordinatorCLI",
                      dependencies: coordinatorCLIDependencies,
                      path: "Sources/edgevlm-coordinator"),
    .testTarget(name: "CLITests", dependencies: ["GGUF", "Kernels"]),
]

let package = Package(
    name: "EdgeVLM",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "edgevlm", targets: ["edgevlm"]),
        .executable(name: "edgevlm-coordinator", targets: ["EdgeVLMCoordinatorCLI"]),
    ],
    dependencies: dependencies,
    targets: targets,
    swiftLanguageModes: [.v6]
)
