/// Core's `SetOutputFilter`: output filters every response of a section runs (Apache's
/// `core_dir_config.output_filters`), in a record of its own so the filter chain reads
/// one small value.
public struct CoreOutputFilterConfig: ModuleConfig {
    /// The filter names, in order; empty for none (`SetOutputFilter` with no filter
    /// inherits nothing either way in Apache: the inner section's value replaces).
    public var setOutputFilters: [String] = []
    /// Whether a `SetOutputFilter` was written here (an empty value undoes an outer one).
    public var isSet = false

    public init() {}

    public func merged(with child: CoreOutputFilterConfig) -> CoreOutputFilterConfig {
        child.isSet ? child : self
    }

    /// `SetOutputFilter filter[;filter...]`: the names split on `;`, as Apache's core.
    static let directive = DirectiveSpec("SetOutputFilter", .take1, .anywhere,
                                         help: "a list of output filters separated by semicolons") { d, scope throws(ConfigError) in
        var record = CoreOutputFilterConfig()
        record.isSet = true
        record.setOutputFilters = d.arguments[0].split(separator: ";").map { String($0).trimmingCharacters(in: " \t") }.filter { !$0.isEmpty }
        scope.directory[CoreOutputFilterConfig.self] = record
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
