//! Content types from file extensions, as Swift guesses them for a PUT
//! without `Content-Type` (Python's `mimetypes.guess_type`, strict).
//!
//! The table is Python 3's built-in `types_map` (not a system
//! `/etc/mime.types`, which differs between hosts). As in `mimetypes`, a
//! compression suffix (`.gz`, `.bz2`, `.xz`, `.Z`, `.br`) is an encoding,
//! not a type: `a.tar.gz` is `application/x-tar` and `a.gz` has no type;
//! `.tgz` and friends stand for `.tar.gz`. No type: Swift's
//! `application/octet-stream`.

/// Python's `types_map`: extension (without the dot) → type, sorted.
const TYPES: [(&str, &str); 149] = [
    ("3g2", "audio/3gpp2"),
    ("3gp", "audio/3gpp"),
    ("3gpp", "audio/3gpp"),
    ("3gpp2", "audio/3gpp2"),
    ("a", "application/octet-stream"),
    ("aac", "audio/aac"),
    ("adts", "audio/aac"),
    ("ai", "application/postscript"),
    ("aif", "audio/x-aiff"),
    ("aifc", "audio/x-aiff"),
    ("aiff", "audio/x-aiff"),
    ("ass", "audio/aac"),
    ("au", "audio/basic"),
    ("avi", "video/x-msvideo"),
    ("avif", "image/avif"),
    ("bat", "text/plain"),
    ("bcpio", "application/x-bcpio"),
    ("bin", "application/octet-stream"),
    ("bmp", "image/bmp"),
    ("c", "text/plain"),
    ("cdf", "application/x-netcdf"),
    ("cpio", "application/x-cpio"),
    ("csh", "application/x-csh"),
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("dll", "application/octet-stream"),
    ("doc", "application/msword"),
    ("dot", "application/msword"),
    ("dvi", "application/x-dvi"),
    ("eml", "message/rfc822"),
    ("eps", "application/postscript"),
    ("etx", "text/x-setext"),
    ("exe", "application/octet-stream"),
    ("gif", "image/gif"),
    ("gtar", "application/x-gtar"),
    ("h", "text/plain"),
    ("h5", "application/x-hdf5"),
    ("hdf", "application/x-hdf"),
    ("heic", "image/heic"),
    ("heif", "image/heif"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ico", "image/vnd.microsoft.icon"),
    ("ief", "image/ief"),
    ("jpe", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "application/javascript"),
    ("json", "application/json"),
    ("ksh", "text/plain"),
    ("latex", "application/x-latex"),
    ("loas", "audio/aac"),
    ("m1v", "video/mpeg"),
    ("m3u", "application/vnd.apple.mpegurl"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("man", "application/x-troff-man"),
    ("me", "application/x-troff-me"),
    ("mht", "message/rfc822"),
    ("mhtml", "message/rfc822"),
    ("mif", "application/x-mif"),
    ("mjs", "application/javascript"),
    ("mov", "video/quicktime"),
    ("movie", "video/x-sgi-movie"),
    ("mp2", "audio/mpeg"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("mpa", "video/mpeg"),
    ("mpe", "video/mpeg"),
    ("mpeg", "video/mpeg"),
    ("mpg", "video/mpeg"),
    ("ms", "application/x-troff-ms"),
    ("n3", "text/n3"),
    ("nc", "application/x-netcdf"),
    ("nq", "application/n-quads"),
    ("nt", "application/n-triples"),
    ("nws", "message/rfc822"),
    ("o", "application/octet-stream"),
    ("obj", "application/octet-stream"),
    ("oda", "application/oda"),
    ("opus", "audio/opus"),
    ("p12", "application/x-pkcs12"),
    ("p7c", "application/pkcs7-mime"),
    ("pbm", "image/x-portable-bitmap"),
    ("pdf", "application/pdf"),
    ("pfx", "application/x-pkcs12"),
    ("pgm", "image/x-portable-graymap"),
    ("pl", "text/plain"),
    ("png", "image/png"),
    ("pnm", "image/x-portable-anymap"),
    ("pot", "application/vnd.ms-powerpoint"),
    ("ppa", "application/vnd.ms-powerpoint"),
    ("ppm", "image/x-portable-pixmap"),
    ("pps", "application/vnd.ms-powerpoint"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("ps", "application/postscript"),
    ("pwz", "application/vnd.ms-powerpoint"),
    ("py", "text/x-python"),
    ("pyc", "application/x-python-code"),
    ("pyo", "application/x-python-code"),
    ("qt", "video/quicktime"),
    ("ra", "audio/x-pn-realaudio"),
    ("ram", "application/x-pn-realaudio"),
    ("ras", "image/x-cmu-raster"),
    ("rdf", "application/xml"),
    ("rgb", "image/x-rgb"),
    ("roff", "application/x-troff"),
    ("rtx", "text/richtext"),
    ("sgm", "text/x-sgml"),
    ("sgml", "text/x-sgml"),
    ("sh", "application/x-sh"),
    ("shar", "application/x-shar"),
    ("snd", "audio/basic"),
    ("so", "application/octet-stream"),
    ("src", "application/x-wais-source"),
    ("srt", "text/plain"),
    ("sv4cpio", "application/x-sv4cpio"),
    ("sv4crc", "application/x-sv4crc"),
    ("svg", "image/svg+xml"),
    ("swf", "application/x-shockwave-flash"),
    ("t", "application/x-troff"),
    ("tar", "application/x-tar"),
    ("tcl", "application/x-tcl"),
    ("tex", "application/x-tex"),
    ("texi", "application/x-texinfo"),
    ("texinfo", "application/x-texinfo"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("tr", "application/x-troff"),
    ("trig", "application/trig"),
    ("tsv", "text/tab-separated-values"),
    ("txt", "text/plain"),
    ("ustar", "application/x-ustar"),
    ("vcf", "text/x-vcard"),
    ("vtt", "text/vtt"),
    ("wasm", "application/wasm"),
    ("wav", "audio/x-wav"),
    ("webm", "video/webm"),
    ("webmanifest", "application/manifest+json"),
    ("wiz", "application/msword"),
    ("wsdl", "application/xml"),
    ("xbm", "image/x-xbitmap"),
    ("xlb", "application/vnd.ms-excel"),
    ("xls", "application/vnd.ms-excel"),
    ("xml", "text/xml"),
    ("xpdl", "application/xml"),
    ("xpm", "image/x-xpixmap"),
    ("xsl", "application/xml"),
    ("xwd", "image/x-xwindowdump"),
    ("zip", "application/zip"),
];

/// `mimetypes`' `suffix_map`: shorthands for a type plus an encoding.
const SUFFIXES: [(&str, &str); 6] = [
    ("svgz", "svg.gz"),
    ("taz", "tar.gz"),
    ("tbz2", "tar.bz2"),
    ("tgz", "tar.gz"),
    ("txz", "tar.xz"),
    ("tz", "tar.gz"),
];

/// `mimetypes`' `encodings_map` keys.
const ENCODINGS: [&str; 5] = ["Z", "br", "bz2", "gz", "xz"];

fn lookup(ext: &str) -> Option<&'static str> {
    let find = |e: &str| TYPES.binary_search_by(|(k, _)| (*k).cmp(e)).ok().map(|i| TYPES[i].1);
    find(ext).or_else(|| find(&ext.to_ascii_lowercase()))
}

/// `posixpath.splitext` of a last path component: `(stem, ext)` without
/// the dot; leading dots do not start an extension.
fn split_ext(name: &str) -> Option<(&str, &str)> {
    let at = name.rfind('.')?;
    (name[..at].chars().any(|c| c != '.')).then(|| (&name[..at], &name[at + 1..]))
}

/// The type `mimetypes.guess_type` gives an object name, if any
/// (suffixes and encodings match exactly, the type also lower-cased).
pub fn guess(name: &str) -> Option<&'static str> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let (stem, ext) = split_ext(base)?;
    let expanded;
    let (stem, ext) = match SUFFIXES.iter().find(|(k, _)| *k == ext) {
        Some((_, full)) => {
            expanded = format!("{stem}.{full}");
            split_ext(&expanded)?
        }
        None => (stem, ext),
    };
    let ext = if ENCODINGS.contains(&ext) { split_ext(stem)?.1 } else { ext };
    lookup(ext)
}

#[cfg(test)]
mod tests {
    use super::guess;

    #[test]
    fn types_are_pythons() {
        assert!(super::TYPES.windows(2).all(|w| w[0].0 < w[1].0), "sorted for the binary search");
        assert_eq!(guess("a.wav"), Some("audio/x-wav"));
        assert_eq!(guess("a.txt"), Some("text/plain"));
        assert_eq!(guess("a.zip"), Some("application/zip"));
        assert_eq!(guess("dir.d/A.JPG"), Some("image/jpeg"));
        assert_eq!(guess("a.json"), Some("application/json"));
        assert_eq!(guess("a.tar.gz"), Some("application/x-tar"));
        assert_eq!(guess("a.tgz"), Some("application/x-tar"));
        assert_eq!(guess("a.gz"), None);
        assert_eq!(guess("a.unknown"), None);
        assert_eq!(guess("noext"), None);
        assert_eq!(guess("dir.d/noext"), None);
        assert_eq!(guess("a.tar.Z"), Some("application/x-tar"));
        assert_eq!(guess("a.tar.z"), None);
        assert_eq!(guess(".txt"), None);
        assert_eq!(guess("a."), None);
    }
}
