/// The API endpoints, for counting requests and aiming faults.
public enum EmulatorEndpoint: String, Sendable, Codable, CaseIterable {
    case token
    case stableToken = "stable_token"
    case upload
    case get
    case head
    case video
    case quota
    case addMaterial = "add_material"
    case getMaterial = "get_material"
    case deleteMaterial = "del_material"
    case batchgetMaterial = "batchget_material"
    case materialCount = "get_materialcount"
    case uploadImage = "uploadimg"
    /// A material's bytes at a `down_url` or image `url`, or an article image's.
    case materialFile = "material_file"
}
