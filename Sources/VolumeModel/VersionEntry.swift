/// One published version, as `volume.versions` lists it: its id (which sorts by the time it
/// was published), its descriptor, and the mounts of this daemon that started from it.
public struct VersionEntry: Codable, Sendable, Equatable {
    public var id: String
    public var volume: VolumeDescriptor
    /// Mount paths of this daemon whose working copy is based on this version.
    public var mountedHere: [String]
    /// Live mounts on any machine based on it, as `host:/mount/path` (from their leases).
    public var heldBy: [String]

    enum CodingKeys: String, CodingKey {
        case id, volume, mountedHere = "mounted_here", heldBy = "held_by"
    }

    public init(id: String, volume: VolumeDescriptor, mountedHere: [String] = [], heldBy: [String] = []) {
        self.id = id
        self.volume = volume
        self.mountedHere = mountedHere
        self.heldBy = heldBy
    }
}
