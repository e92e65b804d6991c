import FUSEKit

/// A tree whose extended attributes are all derived (`user.wechat.*` from what the catalog
/// knows), none stored: reading and listing them is the same for each such tree.
protocol DerivedAttributes: MediaTree {
    /// The node's attributes by name; empty for a node that has none.
    func wechatAttributes(of node: Node) async throws -> [String: String]
}

extension DerivedAttributes {
    func getxattr(_ name: String, of node: Node) async throws -> [UInt8] {
        guard let value = try await wechatAttributes(of: node)[name] else { throw FUSEError.noAttribute }
        return Array(value.utf8)
    }

    func listxattr(of node: Node) async throws -> [String] {
        try await wechatAttributes(of: node).keys.sorted()
    }
}
