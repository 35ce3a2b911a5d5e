/// One published version, as `volume.versions` lists it: its id (which sorts by the time it
/// was published), its descriptor, and the mounts of this daemon that started from it.
public struct VersionEntry: Codable, Sendable, Equatable {
    public var id: String
    public var volume: VolumeDescriptor
    /// Mount paths of this daemon whose working copy is based on this version.
    public var mountedHere: [String]

    enum CodingKeys: String, CodingKey {
        case id, volume, mountedHere = "mounted_here"
    }

    public init(id: String, volume: VolumeDescriptor, mountedHere: [String] = []) {
        self.id = id
        self.volume = volume
        self.mountedHere = mountedHere
    }
}
