/// LZF decompression, as Redis compresses long strings in an RDB (`lzf_d.c`): a control
/// byte below 32 starts a run of that many plus one literal bytes; any other is a
/// back-reference of 3 to 264 bytes into what was already produced.
enum LZF {
    /// The most output one input byte can produce: a 3-byte back-reference yields 264 bytes.
    static let largestExpansion: UInt64 = 88

    /// Exactly `length` bytes, or `nil` when `input` does not decompress to that length.
    static func decompress(_ input: [UInt8], length: Int) -> [UInt8]? {
        var output: [UInt8] = []
        // Grown as the input yields rather than reserved as claimed: a hostile claim may be
        // 88 times the input.
        output.reserveCapacity(min(length, input.count))
        var at = 0
        while at < input.count {
            let control = Int(input[at])
            at += 1
            if control < 32 {
                let run = control + 1
                guard at + run <= input.count, output.count + run <= length else { return nil }
                output += input[at..<at + run]
                at += run
                continue
            }
            var run = control >> 5
            if run == 7 {
                guard at < input.count else { return nil }
                run += Int(input[at])
                at += 1
            }
            guard at < input.count else { return nil }
            let from = output.count - ((control & 0x1F) << 8) - Int(input[at]) - 1
            at += 1
            run += 2
            guard from >= 0, output.count + run <= length else { return nil }
            // Byte by byte: a reference may overlap what it is producing.
            for index in from..<from + run { output.append(output[index]) }
        }
        return output.count == length ? output : nil
    }
}
