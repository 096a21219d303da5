/// The configuration `skep` runs with no `-f`: serve `./public` if it exists, else the
/// current directory, on 127.0.0.1:8080 with the event MPM.
enum DefaultConfig {
    static let name = "(embedded default)"

    static func text(currentDirectory cwd: String, hasPublic: Bool, tempDirectory: String) -> String {
        let root = hasPublic ? cwd + "/public" : cwd
        return """
        # Skep's embedded default configuration (skep -f FILE replaces it).
        ServerRoot "\(cwd)"
        Listen 127.0.0.1:8080
        LoadModule mpm_event_module modules/mod_mpm_event.so
        ServerName localhost
        DocumentRoot "\(root)"
        PidFile "\(tempDirectory)/skep-8080.pid"
        ErrorLog /dev/stderr
        LogLevel info
        LoadModule authz_core_module modules/mod_authz_core.so
        LoadModule dir_module modules/mod_dir.so
        LoadModule mime_module modules/mod_mime.so
        LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
        CustomLog /dev/stdout common
        LoadModule reqtimeout_module modules/mod_reqtimeout.so
        DirectoryIndex index.html
        """
    }
}
