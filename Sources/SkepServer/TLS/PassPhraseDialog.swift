import COpenSSL
import Glibc
import SkepSystem

/// `SSLPassPhraseDialog`: how the master gets the pass phrase of an encrypted private key
/// when it loads the certificates, as Apache's mod_ssl does: `builtin` asks on the
/// terminal Skep was started from; `exec:PROGRAM` runs the program with Apache's two
/// arguments, the host's id (`servername:port`) and the key's place (`RSA`, `DSA`, `ECC`
/// for the first three, then its index), and reads the pass phrase from its output
/// (Debian's `ssl.conf` names `/usr/share/apache2/ask-for-passphrase`).
///
/// A pass phrase that opened a key is remembered by the master and tried first on every
/// later key, and again at each graceful restart, so a restart (certbot's renew hook,
/// which has no terminal) does not ask again, as Apache remembers them.
public enum PassPhraseDialog: Sendable, Equatable {
    case builtin
    case exec(String)

    /// Pass phrases that opened a key in this process.
    nonisolated(unsafe) private static var remembered: [String] = []

    /// Reads the private key at `path`: unencrypted, or with a remembered pass phrase,
    /// or with the one this dialog gets (then remembered).
    func readKey(_ path: String, hostID: String, index: Int) throws(TLSError) -> OpaquePointer {
        let keyID = "\(hostID):\(index)"
        guard let file = fopen(path, "r") else {
            throw .configuration("SSLCertificateKeyFile \(path): \(SystemError(errno: Errno(rawValue: Glibc.errno), call: "fopen"))")
        }
        defer { fclose(file) }
        // An empty pass phrase first: an unencrypted key is read without one, and OpenSSL
        // never falls back to its own terminal prompt.
        for phrase in [""] + Self.remembered {
            if let key = Self.read(file, phrase) { return key }
        }
        guard Self.isEncrypted(path) else {
            throw .configuration("SSLCertificateKeyFile \(path): no usable private key in it (\(TLSError.drainErrors()))")
        }
        let phrase = try ask(hostID: hostID, index: index)
        guard let key = Self.read(file, phrase) else {
            ERR_clear_error()
            throw .configuration("AH02577: Init: Pass phrase incorrect for key \(keyID) (\(path))")
        }
        Self.remembered.append(phrase)
        return key
    }

    /// Whether the PEM file holds an encrypted key (PKCS#8's or the traditional form's).
    static func isEncrypted(_ path: String) -> Bool {
        guard let file = fopen(path, "r") else { return false }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {  // trap-safe: 256
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----") || text.hasPrefix("Proc-Type: 4,ENCRYPTED") { return true }
        }
        return false
    }

    private static func read(_ file: UnsafeMutablePointer<FILE>, _ phrase: String) -> OpaquePointer? {
        rewind(file)
        ERR_clear_error()
        return phrase.withCString { PEM_read_PrivateKey(file, nil, nil, UnsafeMutableRawPointer(mutating: $0)) }
    }

    private func ask(hostID: String, index: Int) throws(TLSError) -> String {
        let keyID = "\(hostID):\(index)"
        switch self {
        case .exec(let program):
            return try Self.run(program, [hostID, index < 3 ? ["RSA", "DSA", "ECC"][index] : String(index)])
        case .builtin:
            guard isatty(0) == 1 else {
                throw .configuration("the private key \(keyID) is encrypted and SSLPassPhraseDialog builtin needs a terminal: start Skep from one, or use SSLPassPhraseDialog exec:PROGRAM")
            }
            let prompt = "Enter pass phrase for \(keyID):"
            guard let phrase = getpass(prompt) else { throw .configuration("could not read the pass phrase of \(keyID) from the terminal") }
            return String(cString: phrase)
        }
    }

    /// The program's first line of output: the pass phrase.
    private static func run(_ program: String, _ arguments: [String]) throws(TLSError) -> String {
        let keyID = arguments.joined(separator: " ")
        do {
            let pipe = try Descriptor.pipe()
            let pid: ProcessID
            do {
                pid = try Process.spawn(path: program, arguments: [program] + arguments, standardOutput: pipe.write, closingOtherDescriptors: true)
            } catch {
                pipe.read.close()
                pipe.write.close()
                throw error
            }
            pipe.write.close()
            defer { pipe.read.close() }
            var output: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 512)
            while output.count < 4096, case .transferred(let n) = try chunk.withUnsafeMutableBytes({ try pipe.read.read(into: $0) }), n > 0 {
                output += chunk.prefix(n)
            }
            let status = try Process.wait(for: pid)
            guard status == .exited(code: 0) else {
                throw TLSError.configuration("SSLPassPhraseDialog exec:\(program) for \(keyID): the program failed (\(status))")
            }
            let line = output.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
            return String(decoding: line, as: UTF8.self)
        } catch let error as TLSError {
            throw error
        } catch {
            throw .configuration("SSLPassPhraseDialog exec:\(program) for \(keyID): \(error)")
        }
    }
}
