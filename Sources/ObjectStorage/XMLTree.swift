/// A small, strict-enough XML reader for the three response shapes we consume (S3 and
/// Azure listings and error bodies): elements, text and entities; attributes, comments,
/// processing instructions and DOCTYPE are skipped.
struct XMLTree: Sendable, Equatable {
    let name: String
    var text: String
    var children: [XMLTree]

    func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }

    func children(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }

    /// Text of a descendant reached by names, `"Properties/Content-Length"`.
    func value(_ path: String) -> String? {
        var node = self
        for name in path.split(separator: "/") {
            guard let next = node.child(String(name)) else { return nil }
            node = next
        }
        return node.text
    }

    struct ParseError: Error, Sendable {
        let reason: String
    }

    static func parse(_ bytes: some Collection<UInt8>) throws(ParseError) -> XMLTree {
        var reader = Reader(bytes: Array(bytes))
        return try reader.document()
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        mutating func document() throws(ParseError) -> XMLTree {
            var root: XMLTree?
            var stack: [XMLTree] = []
            while index < bytes.count {
                if bytes[index] != UInt8(ascii: "<") {
                    let text = readUntil(UInt8(ascii: "<"))
                    if !stack.isEmpty { stack[stack.count - 1].text += Self.decodeEntities(text) }
                    continue
                }
                if startsWith("<?") { try skip(past: "?>"); continue }
                if startsWith("<!--") { try skip(past: "-->"); continue }
                if startsWith("<![CDATA[") {
                    index += 9
                    let start = index
                    try skip(past: "]]>")
                    if !stack.isEmpty { stack[stack.count - 1].text += String(decoding: bytes[start..<(index - 3)], as: UTF8.self) }
                    continue
                }
                if startsWith("<!") { try skip(past: ">"); continue }
                if startsWith("</") {
                    index += 2
                    let name = readUntil(UInt8(ascii: ">")).trimmingSpaces
                    index += 1
                    guard let element = stack.popLast(), element.name == name else { throw ParseError(reason: "mismatched </\(name)>") }
                    if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
                    continue
                }
                index += 1
                let tag = readUntil(UInt8(ascii: ">"))
                guard index < bytes.count else { throw ParseError(reason: "unterminated tag") }
                index += 1
                let selfClosing = tag.hasSuffix("/")
                let name = String(tag.prefix { !$0.isWhitespace && $0 != "/" })
                guard !name.isEmpty else { throw ParseError(reason: "empty tag name") }
                let element = XMLTree(name: name, text: "", children: [])
                if selfClosing {
                    if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
                } else {
                    stack.append(element)
                }
            }
            guard stack.isEmpty, let root else { throw ParseError(reason: "incomplete document") }
            return root
        }

        private func startsWith(_ marker: String) -> Bool {
            let marker = Array(marker.utf8)
            return bytes.count - index >= marker.count && Array(bytes[index..<(index + marker.count)]) == marker
        }

        private mutating func skip(past marker: String) throws(ParseError) {
            while index < bytes.count {
                if startsWith(marker) { index += marker.utf8.count; return }
                index += 1
            }
            throw ParseError(reason: "missing \(marker)")
        }

        private mutating func readUntil(_ terminator: UInt8) -> String {
            let start = index
            while index < bytes.count && bytes[index] != terminator { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        static func decodeEntities(_ text: String) -> String {
            guard text.contains("&") else { return text }
            var out = ""
            var rest = Substring(text)
            while let amp = rest.firstIndex(of: "&") {
                out += rest[..<amp]
                guard let semicolon = rest[amp...].firstIndex(of: ";") else { return out + rest[amp...] }
                let entity = rest[rest.index(after: amp)..<semicolon]
                switch entity {
                case "amp": out += "&"
                case "lt": out += "<"
                case "gt": out += ">"
                case "quot": out += "\""
                case "apos": out += "'"
                default:
                    let number: UInt32? = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                        : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                    if let number, let scalar = Unicode.Scalar(number) { out.unicodeScalars.append(scalar) } else { out += "&\(entity);" }
                }
                rest = rest[rest.index(after: semicolon)...]
            }
            return out + rest
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
