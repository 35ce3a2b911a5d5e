import Foundation
import VolumeClient
import VolumeModel

/// A VOLUME argument: a descriptor file, `-` for stdin, or a version locator.
enum VolumeArgument {
    static func resolve(_ text: String, with client: VolumeClient) async throws(VolumeError) -> VolumeDescriptor {
        if text.contains("://") { return try await client.load(locator: text) }
        let data: Data
        if text == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: text) else {
                throw VolumeError(.invalidParams, "cannot read the descriptor file \(text); pass a descriptor file, - for stdin, or a locator URI")
            }
            data = contents
        }
        do {
            return try JSONDecoder().decode(VolumeDescriptor.self, from: data)
        } catch {
            let source = text == "-" ? "stdin" : text
            throw VolumeError(.invalidParams, "\(source) does not hold a volume descriptor (flyte.volume/v1 JSON): \(error)")
        }
    }
}
