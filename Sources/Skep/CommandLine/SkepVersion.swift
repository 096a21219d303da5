/// The version string, in the `Name/X.Y.Z (Unix)` shape Apache's `ServerVersion`
/// has, which monitoring tools such as apache_exporter parse.
enum SkepVersion {
    static let number = "0.1.0"
    static let banner = "Skep/\(number) (Unix)"
}
