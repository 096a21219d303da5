/// A module's configuration record: created with its defaults, filled by its
/// directives, and merged down nested sections (Apache's `create_*_config` and
/// `merge_*_config`).
public protocol ModuleConfig: Sendable {
    init()
    /// The configuration in effect where `child` is nested inside `self`.
    func merged(with child: Self) -> Self
}

/// One record per module, keyed by the record's type: Apache's `ap_conf_vector_t`.
/// A module reads its record with `vector[StaticFilesConfig.self]`, getting its
/// defaults when no directive of it was written.
///
/// Read on every request, several times: the lookup is inlined into the caller, where
/// the record type is known, and scans a short array (only modules with a directive
/// have a record) instead of hashing; each record sits in a typed box, so reading it
/// needs no dynamic cast.
public struct ConfigVector: Sendable {
    @usableFromInline var records: [ConfigRecord] = []

    public init() {}

    @inlinable
    public subscript<C: ModuleConfig>(_ type: C.Type) -> C {
        get {
            let key = ObjectIdentifier(type)
            for record in records where record.key == key {
                // The key is the record's type, so the box is a `TypedConfigRecord<C>`.
                return unsafeDowncast(record, to: TypedConfigRecord<C>.self).value
            }
            return C()
        }
        set {
            let record = TypedConfigRecord(newValue)
            if let index = records.firstIndex(where: { $0.key == record.key }) {
                records[index] = record
            } else {
                records.append(record)
            }
        }
    }

    /// True when some directive wrote a record of this type.
    public func has<C: ModuleConfig>(_ type: C.Type) -> Bool { records.contains { $0.key == ObjectIdentifier(type) } }

    /// The vector in effect where `child` is nested inside `self`.
    public func merged(with child: ConfigVector) -> ConfigVector {
        var out = self
        for childRecord in child.records {
            if let index = out.records.firstIndex(where: { $0.key == childRecord.key }) {
                out.records[index] = out.records[index].merged(with: childRecord)
            } else {
                out.records.append(childRecord)
            }
        }
        return out
    }
}

/// An immutable record of some module, with the key `ConfigVector` finds it by.
@usableFromInline
class ConfigRecord: @unchecked Sendable {
    @usableFromInline let key: ObjectIdentifier

    @usableFromInline init(key: ObjectIdentifier) { self.key = key }

    /// The record in effect where `child` (a record of the same type) is nested inside this one.
    func merged(with child: ConfigRecord) -> ConfigRecord { fatalError("abstract") }
}

@usableFromInline
final class TypedConfigRecord<C: ModuleConfig>: ConfigRecord, @unchecked Sendable {
    @usableFromInline let value: C

    @usableFromInline init(_ value: C) {
        self.value = value
        super.init(key: ObjectIdentifier(C.self))
    }

    override func merged(with child: ConfigRecord) -> ConfigRecord {
        TypedConfigRecord(value.merged(with: unsafeDowncast(child, to: TypedConfigRecord<C>.self).value))
    }
}
