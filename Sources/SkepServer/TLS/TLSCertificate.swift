import COpenSSL
import Glibc

/// One X.509 certificate seen through mod_ssl's variables (`SSL_SERVER_*`, `SSL_CLIENT_*`):
/// the same names and the same text Apache's `ssl_var_lookup_ssl_cert` gives.
struct TLSCertificate {
    /// An X509 this value holds a reference to.
    private let certificate: OpaquePointer
    private let owner: Owner

    private final class Owner {
        let certificate: OpaquePointer
        init(_ certificate: OpaquePointer) { self.certificate = certificate }
        deinit { X509_free(certificate) }
    }

    /// Takes a new reference to `certificate`.
    init(_ certificate: OpaquePointer) {
        X509_up_ref(certificate)
        self.certificate = certificate
        owner = Owner(certificate)
    }

    /// Adopts a reference the caller already holds (`SSL_get1_peer_certificate`).
    init(adopting certificate: OpaquePointer) {
        self.certificate = certificate
        owner = Owner(certificate)
    }

    /// The value of `suffix` after `SSL_SERVER_` or `SSL_CLIENT_` (`M_SERIAL`, `S_DN_CN`...).
    func variable(_ suffix: String) -> String? {
        switch suffix {
        case "M_VERSION": return String(X509_get_version(certificate) + 1)
        case "M_SERIAL": return serial(hex: true)
        case "V_START": return Self.text(X509_get0_notBefore(certificate))
        case "V_END": return Self.text(X509_get0_notAfter(certificate))
        case "V_REMAIN": return remainingDays.map(String.init)
        case "S_DN": return Self.rfc2253(X509_get_subject_name(certificate))
        case "I_DN": return Self.rfc2253(X509_get_issuer_name(certificate))
        case "A_KEY":
            guard let key = X509_get0_pubkey(certificate) else { return nil }
            return Self.longName(EVP_PKEY_get_base_id(key))
        case "A_SIG": return Self.longName(X509_get_signature_nid(certificate))
        case "CERT": return pem
        case "CERT_RFC4523_CEA":
            guard let serial = serial(hex: false), let issuer = Self.rfc2253(X509_get_issuer_name(certificate)) else { return nil }
            return "{ serialNumber \(serial), issuer rdnSequence:\"\(issuer)\" }"
        default:
            for (prefix, name) in [("S_DN_", X509_get_subject_name(certificate)), ("I_DN_", X509_get_issuer_name(certificate))] where suffix.hasPrefix(prefix) {
                return Self.components(name).first { $0.key == suffix.dropFirst(prefix.count) }?.value
            }
            return nil
        }
    }

    /// Every variable StdEnvVars exports for this certificate beyond the fixed list: the
    /// subject's and issuer's name components (`S_DN_CN`, `I_DN_O`, a second `OU` as
    /// `OU_1`) and the subject alternative names (`SAN_DNS_0`, `SAN_Email_0`).
    var extracted: [(suffix: String, value: String)] {
        var out: [(String, String)] = []
        for (prefix, name) in [("S_DN_", X509_get_subject_name(certificate)), ("I_DN_", X509_get_issuer_name(certificate))] {
            out += Self.components(name).map { (prefix + $0.key, $0.value) }
        }
        out += alternativeNames
        return out
    }

    /// The PEM form (`SSLOptions +ExportCertData`).
    var pem: String? {
        Self.withMemoryBIO { bio in PEM_write_bio_X509(bio, certificate) == 1 }
    }

    private func serial(hex: Bool) -> String? {
        guard let serial = X509_get_serialNumber(certificate), let number = ASN1_INTEGER_to_BN(serial, nil) else { return nil }
        defer { BN_free(number) }
        guard let text = hex ? BN_bn2hex(number) : BN_bn2dec(number) else { return nil }
        defer { skep_OPENSSL_free(text) }
        return String(cString: text)
    }

    private var remainingDays: Int? {
        guard let end = X509_get0_notAfter(certificate) else { return nil }
        var days: Int32 = 0, seconds: Int32 = 0
        guard ASN1_TIME_diff(&days, &seconds, nil, end) == 1 else { return nil }
        return days > 0 ? Int(days) : 0  // trap-safe: Int32 to Int widens
    }

    /// Apache's `modssl_var_extract_san_entries`: DNS names and e-mail addresses, numbered.
    private var alternativeNames: [(String, String)] {
        guard let names = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) else { return [] }
        defer { GENERAL_NAMES_free(OpaquePointer(names)) }
        var out: [(String, String)] = []
        var counts: [String: Int] = [:]
        let list = OpaquePointer(names)
        for index in 0..<max(0, skep_sk_GENERAL_NAME_num(list)) {
            guard let entry = skep_sk_GENERAL_NAME_value(list, index) else { continue }
            let kind: String
            switch entry.pointee.type {
            case GEN_DNS: kind = "DNS"
            case GEN_EMAIL: kind = "Email"
            default: continue
            }
            guard let string = entry.pointee.d.ia5, let bytes = ASN1_STRING_get0_data(string) else { continue }
            let length = Int(ASN1_STRING_length(string))  // trap-safe: Int32 to Int widens
            let number = counts[kind, default: 0]
            counts[kind] = number + 1
            out.append(("SAN_\(kind)_\(number)", String(decoding: UnsafeBufferPointer(start: bytes, count: max(0, length)), as: UTF8.self)))
        }
        return out
    }

    /// mod_ssl's names for the components of a distinguished name, in its table's order.
    private static let componentNames: [(String, Int32)] = [
        ("C", NID_countryName), ("ST", NID_stateOrProvinceName), ("L", NID_localityName), ("O", NID_organizationName),
        ("OU", NID_organizationalUnitName), ("CN", NID_commonName), ("T", NID_title), ("I", NID_initials),
        ("G", NID_givenName), ("S", NID_surname), ("D", NID_description), ("UID", NID_userId), ("Email", NID_pkcs9_emailAddress),
    ]

    /// A name's components as mod_ssl exports them: `CN`, and `CN_1` for a second one.
    private static func components(_ name: OpaquePointer?) -> [(key: String, value: String)] {
        guard let name else { return [] }
        var out: [(key: String, value: String)] = []
        var counts: [String: Int] = [:]
        for index in 0..<max(0, X509_NAME_entry_count(name)) {
            guard let entry = X509_NAME_get_entry(name, index), let object = X509_NAME_ENTRY_get_object(entry),
                  let known = componentNames.first(where: { $0.1 == OBJ_obj2nid(object) }),
                  let data = X509_NAME_ENTRY_get_data(entry) else { continue }
            var utf8: UnsafeMutablePointer<UInt8>?
            let length = ASN1_STRING_to_UTF8(&utf8, data)
            guard length >= 0, let utf8 else { continue }
            defer { skep_OPENSSL_free(utf8) }
            let number = counts[known.0, default: 0]
            counts[known.0] = number + 1
            out.append((number == 0 ? known.0 : "\(known.0)_\(number)", String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)))  // trap-safe: non-negative Int32 to Int
        }
        return out
    }

    private static func longName(_ nid: Int32) -> String? {
        guard nid != NID_undef, let name = OBJ_nid2ln(nid) else { return nil }
        return String(cString: name)
    }

    /// A name in RFC 2253 form, as Apache 2.4 prints it without `LegacyDNStringFormat`.
    static func rfc2253(_ name: OpaquePointer?) -> String? {
        guard let name else { return nil }
        return withMemoryBIO { bio in X509_NAME_print_ex(bio, name, 0, skep_XN_FLAG_RFC2253) >= 0 }
    }

    /// A time as OpenSSL prints it (`Dec  7 18:03:56 2026 GMT`), as Apache's variables show it.
    private static func text(_ time: UnsafePointer<ASN1_TIME>?) -> String? {
        guard let time else { return nil }
        return withMemoryBIO { bio in ASN1_TIME_print(bio, time) == 1 }
    }

    /// What `write` puts into a memory BIO, as text; nil when it fails.
    static func withMemoryBIO(_ write: (OpaquePointer) -> Bool) -> String? {
        guard let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard write(bio) else { return nil }
        var pointer: UnsafeMutablePointer<CChar>?
        let length = withUnsafeMutablePointer(to: &pointer) { Int(BIO_ctrl(bio, BIO_CTRL_INFO, 0, UnsafeMutableRawPointer($0))) }  // trap-safe: long is Int on 64-bit
        guard let pointer, length >= 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}
