#if canImport(Glibc)
import Glibc
#endif

/// An address or network as `Require ip` takes it, parsed as APR's `apr_ipsubnet_create`
/// (what mod_authz_host calls): `10.1.2.3`, the partial forms `10.1` and `10.1.` (a
/// network of whole octets), `10.0.0.0/8` (1 to 32 bits; 1 to 128 for IPv6),
/// `10.0.0.0/255.0.0.0` (any IPv4 mask, used bit for bit), `2001:db8::/32`. Apache
/// refuses `/0`, a negative or too long prefix, a partial address with a mask, an IPv6
/// address with a dotted mask and an IPv4-mapped IPv6 address; so does this.
public struct IPMatch: Sendable {
    /// The network's bytes (4 or 16), already masked.
    let network: [UInt8]
    let mask: [UInt8]

    /// Why a word is not an address or network, with APR's wording.
    public enum ParseError: Error, Equatable {
        /// Nothing like an address (APR_EINVAL).
        case notAnAddress
        /// "The specified IP address is invalid." (APR_EBADIP)
        case badAddress
        /// "The specified network mask is invalid." (APR_EBADMASK)
        case badMask
    }

    /// Apache's message for `word` refused with `error` (mod_authz_host's `ip_parse_config`).
    public static func message(_ word: String, _ error: ParseError) -> String {
        switch error {
        case .notAnAddress: return "ip address '\(word)' appears to be invalid"
        case .badAddress: return "ip address '\(word)' appears to be invalid: The specified IP address is invalid."
        case .badMask: return "ip address '\(word)' appears to be invalid: The specified network mask is invalid."
        }
    }

    public init(_ text: String) throws(ParseError) {
        var addressText = Substring(text)
        var maskText: Substring?
        if let slash = text.firstIndex(of: "/") {
            addressText = text[..<slash]
            maskText = text[text.index(after: slash)...]
        }
        guard Self.looksLikeIP(addressText) else { throw .notAnAddress }
        var address: [UInt8]
        var mask: [UInt8]
        if let ip = Self.parseAddress(addressText) {
            address = ip
            mask = Array(repeating: 0xFF, count: ip.count)
        } else if maskText == nil, let partial = Self.parsePartial(addressText) {
            (address, mask) = partial
        } else {
            throw .badAddress
        }
        if let maskText {
            if let bits = Self.prefixLength(maskText), bits > 0, bits <= address.count * 8 {
                mask = (0..<address.count).map { i in
                    let take = min(8, max(0, bits - i * 8))
                    return take == 0 ? 0 : ~(0xFF >> UInt8(take))  // trap-safe: take is 1...8 here
                }
            } else if address.count == 4, let dotted = Self.parseAddress(maskText), dotted.count == 4 {
                mask = dotted
            } else {
                throw .badMask
            }
        }
        self.network = zip(address, mask).map { $0 & $1 }
        self.mask = mask
    }

    /// APR's `looks_like_ip`: anything with a `:` (IPv6), or only digits and dots.
    static func looksLikeIP(_ s: Substring) -> Bool {
        guard !s.isEmpty else { return false }
        return s.contains(":") || s.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
    }

    /// A complete IPv6 or IPv4 address in numeric form (`inet_pton`), IPv6 first; an
    /// IPv4-mapped IPv6 address is refused, as APR refuses it.
    public static func parseAddress(_ s: Substring) -> [UInt8]? {
        var six = in6_addr()
        if inet_pton(AF_INET6, String(s), &six) == 1 {
            let bytes = withUnsafeBytes(of: six) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return nil }
            return bytes
        }
        var four = in_addr()
        if inet_pton(AF_INET, String(s), &four) == 1 { return withUnsafeBytes(of: four) { Array($0) } }
        return nil
    }

    /// APR's `parse_network`: one to four decimal octets, each followed by a dot except
    /// perhaps the last (`10`, `10.1`, `10.1.`), masking the octets given.
    static func parsePartial(_ s: Substring) -> (address: [UInt8], mask: [UInt8])? {
        guard s.utf8.count < 16 else { return nil }
        var address: [UInt8] = [], mask: [UInt8] = []
        var rest = s.utf8[...]
        while !rest.isEmpty {
            let digits = rest.prefix { $0 >= 0x30 && $0 <= 0x39 }
            guard !digits.isEmpty, address.count < 4 else { return nil }
            var octet = 0
            for d in digits {
                octet = octet * 10 + Int(d - 0x30)  // trap-safe: at most 15 digits: no overflow
                guard octet <= 255 else { return nil }
            }
            rest = rest.dropFirst(digits.count)
            if rest.first == UInt8(ascii: ".") { rest = rest.dropFirst() } else if !rest.isEmpty { return nil }
            address.append(UInt8(octet))  // trap-safe: octet <= 255, checked in the loop
            mask.append(0xFF)
        }
        let pad = 4 - address.count
        return (address + Array(repeating: 0, count: pad), mask + Array(repeating: 0, count: pad))
    }

    /// The mask as a bit count, read as APR reads it with `strtol` (leading blanks and a
    /// sign allowed, nothing after the digits); nil when it is not a number or too large
    /// to matter (any count above 128 is refused anyway).
    static func prefixLength(_ s: Substring) -> Int? {
        var rest = s.drop { $0 == " " || $0 == "\t" }
        var negative = false
        if let sign = rest.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        guard !rest.isEmpty, rest.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let digits = rest.drop { $0 == "0" }
        guard digits.count <= 3, let n = Int(digits.isEmpty ? "0" : String(digits)) else { return 1000 }
        return negative ? -n : n
    }

    /// True when `bytes` (4 or 16, as `parseAddress` gives) lie in this network.
    public func contains(bytes candidate: [UInt8]) -> Bool {
        guard candidate.count == network.count else { return false }
        for i in 0..<network.count where candidate[i] & mask[i] != network[i] { return false }
        return true
    }
}
