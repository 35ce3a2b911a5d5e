extension Duration {
    /// The duration in seconds, for the calls and rates that take a `Double`.
    public var inSeconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
