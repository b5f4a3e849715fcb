import HeraldCore

/// The admin console's files by name under `/admin/`, embedded at build time (Package.swift's
/// `.embedInCode`): plain HTML, CSS and one script module, no build step.
enum AdminFiles {
    static let all: [String: AdminConsole.File] = [
        "": .init(contentType: "text/html; charset=utf-8", bytes: PackageResources.index_html),
        "admin.css": .init(contentType: "text/css; charset=utf-8", bytes: PackageResources.admin_css),
        "admin.js": .init(contentType: "text/javascript; charset=utf-8", bytes: PackageResources.admin_js),
    ]
}
