import SystemPackage

/// A pull parser over a JSON file, read in 1 MiB pieces: what lets `load` take dumps far
/// larger than memory would allow as Foundation objects.
struct JSONStreamReader {
    enum Token: Equatable {
        case beginObject, endObject, beginArray, endArray
        case string(String)
        case integer(Int64)
        case double(Double)
        case bool(Bool)
        case null
    }

    private let descriptor: FileDescriptor
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    /// Containers open now: `true` for objects, with whether a key is expected next.
    private var stack: [(isObject: Bool, expectKey: Bool, first: Bool)] = []
    private var capture: [UInt8]?
    private(set) var offset = 0

    init(descriptor: FileDescriptor) {
        self.descriptor = descriptor
    }

    /// The next token; object keys arrive as `.string` tokens in key position.
    mutating func next() throws(MetaError) -> Token? {
        try skipSeparators()
        guard let byte = try peek() else {
            guard stack.isEmpty else { throw malformed("unexpected end of file") }
            return nil
        }
        switch byte {
        case UInt8(ascii: "{"):
            advance()
            stack.append((true, true, true))
            return .beginObject
        case UInt8(ascii: "}"):
            guard stack.last?.isObject == true else { throw malformed("unbalanced }") }
            advance()
            stack.removeLast()
            valueEnded()
            return .endObject
        case UInt8(ascii: "["):
            advance()
            stack.append((false, false, true))
            return .beginArray
        case UInt8(ascii: "]"):
            guard stack.last?.isObject == false else { throw malformed("unbalanced ]") }
            advance()
            stack.removeLast()
            valueEnded()
            return .endArray
        case UInt8(ascii: "\""):
            let text = try readString()
            if let top = stack.last, top.isObject, top.expectKey {
                try skipWhitespace()
                guard try peek() == UInt8(ascii: ":") else { throw malformed("expected : after an object key") }
                advance()
                stack[stack.count - 1].expectKey = false
            } else {
                valueEnded()
            }
            return .string(text)
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            let word = try readWhile { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }
            valueEnded()
            switch String(decoding: word, as: UTF8.self) {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null": return .null
            default: throw malformed("unknown literal")
            }
        default:
            let number = String(decoding: try readWhile { "+-.eE0123456789".utf8.contains($0) }, as: UTF8.self)
            valueEnded()
            if let integer = Int64(number) { return .integer(integer) }
            if let double = Double(number) { return .double(double) }
            throw malformed("unexpected character")
        }
    }

    /// Skips the value that starts with `token` (already read), returning its JSON text.
    mutating func captureValue(startingWith token: Token) throws(MetaError) -> String {
        guard token == .beginObject || token == .beginArray else { return Self.text(of: token) }
        capture = Array(Self.text(of: token).utf8)
        defer { capture = nil }
        try skipValue(startingWith: token)
        return String(decoding: capture ?? [], as: UTF8.self)
    }

    /// Skips the value that starts with `token` (already read).
    mutating func skipValue(startingWith token: Token) throws(MetaError) {
        guard token == .beginObject || token == .beginArray else { return }
        var depth = 1
        while depth > 0 {
            switch try next() {
            case .beginObject, .beginArray: depth += 1
            case .endObject, .endArray: depth -= 1
            case nil: throw malformed("unexpected end of file")
            default: break
            }
        }
    }

    func malformed(_ what: String) -> MetaError {
        MetaError(.invalidArgument, "the dump is not valid JSON near byte \(offset): \(what)")
    }

    // MARK: - Bytes

    private static func text(of token: Token) -> String {
        switch token {
        case .beginObject: "{"
        case .endObject: "}"
        case .beginArray: "["
        case .endArray: "]"
        case .string(let value): DumpEscaping.jsonString(value)
        case .integer(let value): String(value)
        case .double(let value): String(value)
        case .bool(let value): value ? "true" : "false"
        case .null: "null"
        }
    }

    private mutating func valueEnded() {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].first = false
        if stack[stack.count - 1].isObject { stack[stack.count - 1].expectKey = true }
    }

    private mutating func skipSeparators() throws(MetaError) {
        try skipWhitespace()
        // A comma comes before every element but the first, and never between a key and its value.
        guard let top = stack.last, !top.first, !top.isObject || top.expectKey, let byte = try peek() else { return }
        if byte == UInt8(ascii: ",") {
            advance()
            try skipWhitespace()
        } else if byte != UInt8(ascii: "}") && byte != UInt8(ascii: "]") {
            throw malformed("expected , between values")
        }
    }

    private mutating func skipWhitespace() throws(MetaError) {
        while let byte = try peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { advance() }
    }

    private mutating func readWhile(_ accept: (UInt8) -> Bool) throws(MetaError) -> [UInt8] {
        var bytes: [UInt8] = []
        while let byte = try peek(), accept(byte) {
            bytes.append(byte)
            advance()
        }
        guard !bytes.isEmpty else { throw malformed("unexpected character") }
        return bytes
    }

    private mutating func readString() throws(MetaError) -> String {
        advance()
        var bytes: [UInt8] = []
        var pendingHigh: UInt32?
        while true {
            guard let byte = try peek() else { throw malformed("unterminated string") }
            advance()
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: bytes, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escaped = try peek() else { throw malformed("unterminated escape") }
                advance()
                switch escaped {
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "u"):
                    var value: UInt32 = 0
                    for _ in 0..<4 {
                        guard let digit = try peek(), let nibble = UInt32(String(UnicodeScalar(digit)), radix: 16) else { throw malformed("bad \\u escape") }
                        advance()
                        value = value << 4 | nibble
                    }
                    if (0xD800..<0xDC00).contains(value) {
                        pendingHigh = value
                        continue
                    }
                    if let high = pendingHigh, (0xDC00..<0xE000).contains(value) {
                        value = 0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00)
                    }
                    bytes += Array(String(UnicodeScalar(value).map(Character.init) ?? "\u{FFFD}").utf8)
                default: bytes.append(escaped)
                }
            default:
                bytes.append(byte)
            }
            pendingHigh = nil
        }
    }

    private mutating func peek() throws(MetaError) -> UInt8? {
        if position < buffer.count { return buffer[position] }
        guard !atEnd else { return nil }
        buffer = Array(repeating: 0, count: 1 << 20)
        let count: Int
        do {
            count = try descriptor.read(into: &buffer)
        } catch {
            throw MetaError(error, "reading the dump: \(error)")
        }
        buffer.removeSubrange(count...)
        position = 0
        if count == 0 {
            atEnd = true
            return nil
        }
        return buffer[0]
    }

    private mutating func advance() {
        if capture != nil { capture!.append(buffer[position]) }
        position += 1
        offset += 1
    }
}
