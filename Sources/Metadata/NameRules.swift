import StorageFormat
/// What every engine checks before a name or xattr touches the store.
public enum NameRules {
    static let maxNameLength = 255
    static let maxXattrValue = 65536

    /// A single path component: not empty, at most 255 bytes, no "/" and no NUL.
    static func validate(_ name: [UInt8]) throws(MetaError) {
        if name.isEmpty { throw MetaError(.invalidArgument, "empty name") }
        if name.count > maxNameLength { throw MetaError(.fileNameTooLong, "name longer than \(maxNameLength) bytes") }
        if name.contains(UInt8(ascii: "/")) || name.contains(0) { throw MetaError(.invalidArgument, "names cannot contain '/' or NUL") }
    }

    /// A name about to be created in `parent`: also not "." or "..", and not one of the
    /// virtual files juicefs serves in the root.
    static func validateNew(_ name: [UInt8], in parent: Ino) throws(MetaError) {
        try validate(name)
        if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { throw MetaError(.fileExists) }
        if parent == .root, ReservedName.all.contains(name) {
            throw MetaError(.notPermitted, "\(String(decoding: name, as: UTF8.self)) is reserved in the root directory")
        }
    }

    public static func validateXattr(name: String) throws(MetaError) {
        if name.isEmpty { throw MetaError(.invalidArgument, "empty xattr name") }
        if name.utf8.count > maxNameLength { throw MetaError(.outOfRange, "xattr name longer than \(maxNameLength) bytes") }
    }

    static func validateXattr(value: [UInt8]) throws(MetaError) {
        if value.count > maxXattrValue { throw MetaError(.argListTooLong, "xattr value larger than \(maxXattrValue) bytes") }
    }
}
