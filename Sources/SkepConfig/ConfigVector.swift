/// A module's configuration record: created with its defaults, filled by its
/// directives, and merged down nested sections (Apache's `create_*_config` and
/// `merge_*_config`).
public protocol ModuleConfig: Sendable {
    init()
    /// The configuration in effect where `child` is nested inside `self`.
    func merged(with child: Self) -> Self
}

extension ModuleConfig {
    fileprivate func mergedAny(with child: any ModuleConfig) -> any ModuleConfig {
        guard let child = child as? Self else { return self }
        return merged(with: child)
    }
}

/// One record per module, keyed by the record's type: Apache's `ap_conf_vector_t`.
/// A module reads its record with `vector[StaticFilesConfig.self]`, getting its
/// defaults when no directive of it was written.
public struct ConfigVector: Sendable {
    private var records: [ObjectIdentifier: any ModuleConfig] = [:]

    public init() {}

    public subscript<C: ModuleConfig>(_ type: C.Type) -> C {
        get { records[ObjectIdentifier(type)] as? C ?? C() }
        set { records[ObjectIdentifier(type)] = newValue }
    }

    /// True when some directive wrote a record of this type.
    public func has<C: ModuleConfig>(_ type: C.Type) -> Bool { records[ObjectIdentifier(type)] != nil }

    /// The vector in effect where `child` is nested inside `self`.
    public func merged(with child: ConfigVector) -> ConfigVector {
        var out = self
        for (key, childRecord) in child.records {
            if let parent = records[key] {
                out.records[key] = parent.mergedAny(with: childRecord)
            } else {
                out.records[key] = childRecord
            }
        }
        return out
    }
}
