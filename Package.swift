// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "wxmediafs",
    products: [
        .executable(name: "wxmediafs", targets: ["wxmediafs"]),
        .library(name: "WeChatMedia", targets: ["WeChatMedia"]),
        .library(name: "WeChatEmulator", targets: ["WeChatEmulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/JohnSundell/Ink.git", from: "0.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CFuse3",
            pkgConfig: "fuse3",
            providers: [.apt(["libfuse3-dev"])]
        ),
        .target(name: "Deadlines"),
        .target(
            name: "FUSEKit",
            dependencies: [
                "CFuse3",
                "Deadlines",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "WeChatMedia",
            dependencies: [
                "Deadlines",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "MediaCatalog",
            dependencies: [
                "Deadlines",
                "WeChatMedia",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "FleetCatalog",
            dependencies: [
                "Deadlines",
                "WeChatMedia",
                "MediaCatalog",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "LocalByteStore", dependencies: ["WeChatMedia"]),
        .target(
            name: "Articles",
            dependencies: [
                "WeChatMedia",
                .product(name: "Ink", package: "Ink"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "WeChatMediaFS",
            dependencies: [
                "Articles",
                "Deadlines",
                "FUSEKit",
                "WeChatMedia",
                "MediaCatalog",
                "LocalByteStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "WeChatEmulator",
            dependencies: [
                "Deadlines",
                "WeChatMedia",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "wxmediafs",
            dependencies: [
                "FUSEKit",
                "WeChatMedia",
                "MediaCatalog",
                "FleetCatalog",
                "LocalByteStore",
                "WeChatMediaFS",
                "WeChatEmulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            plugins: ["BuildCommit"]
        ),
        .plugin(name: "BuildCommit", capability: .buildTool()),
        .target(
            name: "EmulatorTestSupport",
            dependencies: [
                "FUSEKit",
                "WeChatMedia",
                "WeChatEmulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/EmulatorTestSupport",
            resources: [.copy("Fixtures")]
        ),
        .target(
            name: "FuzzTargets",
            dependencies: ["WeChatMedia", "WeChatEmulator", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/FuzzTargets"
        ),
        .executableTarget(name: "FuzzMediaRules", dependencies: ["FuzzTargets"], path: "Fuzz/FuzzMediaRules"),
        .executableTarget(name: "FuzzAPIReplies", dependencies: ["FuzzTargets"], path: "Fuzz/FuzzAPIReplies"),
        .executableTarget(name: "FuzzMultipart", dependencies: ["FuzzTargets"], path: "Fuzz/FuzzMultipart"),
        .testTarget(
            name: "WeChatMediaTests",
            dependencies: [
                "WeChatMedia", "WeChatEmulator", "EmulatorTestSupport", "MediaCatalog", "FleetCatalog",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "WeChatMediaFSTests",
            dependencies: [
                "Deadlines",
                "WeChatMedia", "WeChatEmulator", "EmulatorTestSupport", "FUSEKit",
            ]
        ),
        .testTarget(
            name: "WeChatMediaFSCoreTests",
            dependencies: [
                "WeChatMediaFS", "MediaCatalog", "FleetCatalog", "LocalByteStore", "WeChatMedia", "WeChatEmulator",
                "EmulatorTestSupport", "FUSEKit",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "ArticlesTests", dependencies: ["Articles", "WeChatMedia"]),
        .testTarget(
            name: "WeChatEmulatorTests",
            dependencies: [
                "WeChatMedia", "WeChatEmulator", "EmulatorTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
