import CoreMetrics
import Foundation
import Logging
import Prometheus
import SystemBridge
import VolumeModel
import Volumes

/// `GET /metrics` in the Prometheus text format on `metrics_listen`. Requests and FUSE
/// operations are recorded as they happen (swift-metrics, bootstrapped here onto a Prometheus
/// registry); the figures the mounts and the daemon already keep (staged and uploaded blocks,
/// cache, retries, transfer bounds, memory, descriptors, connections) are read at each scrape.
final class MetricsEndpoint: @unchecked Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let listener: TCPListener
    private let service: VolumeService
    private let connections: @Sendable () -> Int
    private let log: Logger
    private let lock = NSLock()
    /// Per-mount series made at earlier scrapes, by mount id, so that a gone mount's go too.
    private var mountSeries: [String: MountSeries] = [:]

    /// Binds `address` (`IPv4:port`) and makes swift-metrics record into this endpoint's registry.
    init(address: String, service: VolumeService, connections: @escaping @Sendable () -> Int, log: Logger) throws(VolumeError) {
        let (host, port) = try Self.parse(address)
        do {
            listener = try TCPListener(host: host, port: port)
        } catch {
            throw VolumeError(.internalError, "cannot serve metrics on \(address): \(error)", data: ["field": "metrics_listen"])
        }
        self.service = service
        self.connections = connections
        self.log = log
        var factory = PrometheusMetricsFactory(registry: registry)
        // FUSE requests take microseconds, commits seconds.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(10), .microseconds(50), .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10),
            .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30), .seconds(120),
        ]
        MetricsSystem.bootstrap(factory)
        log.info("metrics on http://\(host):\(listener.port)/metrics")
    }

    /// `host:port` with a dotted IPv4 host, as the configuration takes it.
    static func parse(_ address: String) throws(VolumeError) -> (host: String, port: UInt16) {
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        let octets = parts.first?.split(separator: ".", omittingEmptySubsequences: false) ?? []
        guard parts.count == 2, octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }), let port = UInt16(parts[1]) else {
            throw VolumeError(
                .invalidParams, "metrics_listen must be an IPv4 address and a port, such as 127.0.0.1:9567 (got \(address))", data: ["field": "metrics_listen"])
        }
        return (String(parts[0]), port)
    }

    func start() {
        let thread = Thread { [self] in serve() }
        thread.name = "volumed-metrics"
        thread.start()
    }

    func stop() { listener.close() }

    /// One scrape at a time: Prometheus asks every few seconds. A client gets two seconds to
    /// send its request and five to take the answer, so none holds the endpoint for long.
    private func serve() {
        while true {
            let connection: UnixSocket
            do {
                connection = try listener.accept()
            } catch .badFileDescriptor, .invalidArgument {
                return  // closed
            } catch {
                Thread.sleep(forTimeInterval: 0.1)  // out of descriptors or memory for a moment
                continue
            }
            connection.setReceiveTimeout(seconds: 1)
            connection.setSendTimeout(seconds: 5)
            let deadline = Date().addingTimeInterval(2)
            var request: [UInt8] = []
            while request.count < 8192, Date() < deadline, !request.suffix(4).elementsEqual("\r\n\r\n".utf8),
                let bytes = try? connection.read(maximum: 4096), !bytes.isEmpty
            {
                request += bytes
            }
            let line = String(decoding: request.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self).split(separator: " ")
            let response: [UInt8]
            if line.count >= 2, line[0] == "GET", line[1] == "/metrics" || line[1].hasPrefix("/metrics?") {
                response = Self.http("200 OK", "text/plain; version=0.0.4; charset=utf-8", scrape())
            } else {
                response = Self.http("404 Not Found", "text/plain; charset=utf-8", Array("volumed serves GET /metrics\n".utf8))
            }
            try? connection.write(response)
            connection.close()
        }
    }

    private func gauge(_ subsystem: String?, _ name: String, _ unit: String, _ help: String, _ labels: [(String, String)]) -> Prometheus.Gauge {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "volumed", subsystem: subsystem, metricName: name, unitName: unit, helpText: help), labels: labels)
    }

    private static func http(_ status: String, _ type: String, _ body: [UInt8]) -> [UInt8] {
        Array("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
    }

    /// The registry's text after the figures read at scrape time are brought up to date.
    private func scrape() -> [UInt8] {
        lock.withLock {
            let statuses = service.mounts.map(\.status)
            let live = Set(statuses.map(\.mountID))
            for (id, series) in mountSeries where !live.contains(id) {
                series.unregister(from: registry)
                mountSeries[id] = nil
            }
            for status in statuses {
                let series = mountSeries[status.mountID] ?? MountSeries(status, registry: registry)
                series.update(status)
                mountSeries[status.mountID] = series
            }
            let transfers = service.transfers
            for (direction, bound) in [("upload", transfers.uploads), ("download", transfers.downloads)] {
                let labels = [("direction", direction)]
                gauge("transfers", "in_flight", "requests", "Block PUTs or GETs running under the daemon-wide bound", labels).set(Int64(bound.inFlight))
                gauge("transfers", "waiting", "requests", "Block PUTs or GETs queued behind the daemon-wide bound", labels).set(Int64(bound.waiting))
            }
            gauge(nil, "connections", "open", "Clients connected to the socket", []).set(Int64(connections()))
            gauge(nil, "mounts", "served", "Mounts this daemon serves", []).set(Int64(statuses.count))
            let process = { (name: String, unit: String, help: String) in
                self.registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "process", metricName: name, unitName: unit, helpText: help), labels: [])
            }
            process("resident_memory", "bytes", "Resident memory of the daemon").set(ProcessFigures.residentBytes)
            process("open", "fds", "Descriptors the daemon holds open").set(ProcessFigures.openDescriptors)
            return registry.emitToBuffer()
        }
    }
}
