/// How much `volumed` says on stderr (the journal, under systemd).
public enum LogLevel: String, CaseIterable, Sendable, Comparable {
    case debug, info, warning, error

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
