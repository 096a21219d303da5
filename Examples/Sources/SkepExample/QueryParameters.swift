import Foundation

/// `a=1&b=2` as name-value pairs (percent-decoded by Foundation's URLComponents).
struct QueryParameters {
    let items: [URLQueryItem]

    init(_ query: String?) {
        var components = URLComponents()
        components.percentEncodedQuery = query
        items = components.queryItems ?? []
    }

    /// The value of `name` as an integer within `range`; `fallback` when absent, nil when
    /// present but not such a number.
    func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>) -> Int? {
        guard let text = items.last(where: { $0.name == name })?.value else { return fallback }
        guard let value = Int(text), range.contains(value) else { return nil }
        return value
    }
}
