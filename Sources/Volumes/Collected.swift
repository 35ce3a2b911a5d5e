import Foundation

/// What pieces of `ParallelWork` hand back from their threads: appended as they come, or each
/// into a place of its own.
final class Collected<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var elements: [Element]

    init(_ elements: [Element] = []) { self.elements = elements }

    func append(_ element: Element) { lock.withLock { elements.append(element) } }

    func set(_ index: Int, _ element: Element) { lock.withLock { elements[index] = element } }

    var all: [Element] { lock.withLock { elements } }
}
