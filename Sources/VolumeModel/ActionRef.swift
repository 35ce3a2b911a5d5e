/// Who produced a version: the task action's coordinates, supplied by the caller, plus
/// the `locator` (object URI of the version's descriptor) that lets lineage be walked
/// offline from any copy of a descriptor.
public struct ActionRef: Codable, Sendable, Hashable {
    public var name: String?
    public var runName: String?
    public var project: String?
    public var domain: String?
    public var org: String?
    public var outputName: String?
    public var locator: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, runName = "run_name", project, domain, org, outputName = "output_name", locator
    }

    public init(
        name: String? = nil, runName: String? = nil, project: String? = nil, domain: String? = nil, org: String? = nil,
        outputName: String? = nil, locator: String? = nil
    ) {
        self.name = name
        self.runName = runName
        self.project = project
        self.domain = domain
        self.org = org
        self.outputName = outputName
        self.locator = locator
    }

    /// Every field written, absent ones as `null`, so that encodings compare byte for byte.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(runName, forKey: .runName)
        try container.encode(project, forKey: .project)
        try container.encode(domain, forKey: .domain)
        try container.encode(org, forKey: .org)
        try container.encode(outputName, forKey: .outputName)
        try container.encode(locator, forKey: .locator)
    }

    /// This caller's stamp on a version published at `locator`.
    public func stamped(locator: String) -> ActionRef {
        var copy = self
        copy.locator = locator
        return copy
    }
}
