/// Names JuiceFS serves as virtual files in the root directory; real entries must not use them.
public enum ReservedName {
    public static let all: Set<[UInt8]> = Set([".accesslog", ".config", ".stats", ".control", ".trash"].map { Array($0.utf8) })
}
