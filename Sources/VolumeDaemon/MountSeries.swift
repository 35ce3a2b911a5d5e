import Prometheus
import VolumeModel

/// The figures a mount keeps itself, as series labelled with its volume and path: gauges of
/// what it holds now, and counters advanced by what its totals grew since the last scrape.
final class MountSeries {
    private let gauges: [(Prometheus.Gauge, KeyPath<MountStatus, Int64>)]
    private let counters: [(Prometheus.Counter, KeyPath<MountStatus, Int64>)]
    private var last: [Int64]

    init(_ status: MountStatus, registry: PrometheusCollectorRegistry) {
        let labels = [("volume", status.volume), ("mount_path", status.mountPath)]
        func named(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "volumed", subsystem: "mount", metricName: name, unitName: unit, helpText: help)
        }
        gauges = [
            (registry.makeGauge(descriptor: named("staged", "blocks", "Blocks written and not uploaded yet"), labels: labels), \.stagedBlocks64),
            (registry.makeGauge(descriptor: named("staged", "bytes", "Bytes written and not uploaded yet"), labels: labels), \.stagedBytes),
            (registry.makeGauge(descriptor: named("uploads_in", "flight", "Block PUTs running"), labels: labels), \.uploadsInFlight64),
            (registry.makeGauge(descriptor: named("cache", "bytes", "Bytes in the block cache the mount uses"), labels: labels), \.cacheBytes),
            (registry.makeGauge(descriptor: named("cache_budget", "bytes", "The budget of that cache"), labels: labels), \.cacheBudgetBytes),
            (registry.makeGauge(descriptor: named("open", "handles", "Files and directories open on the mount"), labels: labels), \.openHandles64),
        ]
        counters = [
            (registry.makeCounter(descriptor: named("uploaded_bytes", "total", "Block bytes uploaded"), labels: labels), \.uploadedBytes),
            (registry.makeCounter(descriptor: named("uploaded_blocks", "total", "Blocks uploaded"), labels: labels), \.uploadedBlocks),
            (registry.makeCounter(descriptor: named("cache_hits", "total", "Block reads the cache answered"), labels: labels), \.cacheHits),
            (registry.makeCounter(descriptor: named("cache_misses", "total", "Block reads that went to the object store"), labels: labels), \.cacheMisses),
            (registry.makeCounter(descriptor: named("upload_errors", "total", "Block uploads that failed after retries (tried again later)"), labels: labels), \.uploadErrors),
            (registry.makeCounter(descriptor: named("download_errors", "total", "Block fetches that failed after retries"), labels: labels), \.downloadErrors),
            (registry.makeCounter(descriptor: named("storage_retries", "total", "Object-store requests sent again after a transient failure"), labels: labels), \.storageRetries64),
            (
                registry.makeCounter(descriptor: named("resolved_outcomes", "total", "Conditional creates whose lost answer was settled by reading back"), labels: labels),
                \.resolvedOutcomes64
            ),
        ]
        last = Array(repeating: 0, count: counters.count)
    }

    func update(_ status: MountStatus) {
        for (gauge, path) in gauges { gauge.set(status[keyPath: path]) }
        for (index, (counter, path)) in counters.enumerated() {
            let value = status[keyPath: path]
            if value > last[index] { counter.increment(by: value - last[index]) }
            last[index] = value
        }
    }

    func unregister(from registry: PrometheusCollectorRegistry) {
        for (gauge, _) in gauges { registry.unregisterGauge(gauge) }
        for (counter, _) in counters { registry.unregisterCounter(counter) }
    }
}

extension MountStatus {
    fileprivate var stagedBlocks64: Int64 { Int64(stagedBlocks) }
    fileprivate var uploadsInFlight64: Int64 { Int64(uploadsInFlight) }
    fileprivate var openHandles64: Int64 { Int64(openHandles) }
    fileprivate var storageRetries64: Int64 { Int64(storageRetries) }
    fileprivate var resolvedOutcomes64: Int64 { Int64(resolvedOutcomes) }
}
