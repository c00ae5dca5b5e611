//! Serves the tracker script built in `tracker-js/dist` (compiled into the binary,
//! so a deployment is one file). Compression comes from the server's middleware.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::OnceLock;

const DEFAULT_SCRIPT: &str = include_str!("../../../tracker-js/dist/script.js");
const FULL_SCRIPT: &str = include_str!("../../../tracker-js/dist/script.full.js");

/// One servable script variant with its content hash.
struct Script {
    body: &'static str,
    etag: String,
}

fn scripts() -> &'static [(&'static str, Script); 2] {
    static SCRIPTS: OnceLock<[(&'static str, Script); 2]> = OnceLock::new();
    SCRIPTS.get_or_init(|| {
        [
            ("script", Script::new(DEFAULT_SCRIPT)),
            ("script.full", Script::new(FULL_SCRIPT)),
        ]
    })
}

impl Script {
    fn new(body: &'static str) -> Self {
        Self {
            body,
            etag: format!("{:016x}", fnv1a(body.as_bytes())),
        }
    }
}

/// A stable content hash for ETags and versioned paths (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The versioned path of a variant, e.g. `/js/script.1a2b….js`, for long-lived caching.
pub fn versioned_path(variant: &str) -> Option<String> {
    scripts()
        .iter()
        .find(|(name, _)| *name == variant)
        .map(|(name, s)| format!("/js/{name}.{}.js", s.etag))
}

/// `GET /js/{file}`: `script.js`, `script.full.js`, or either with its hash in the name.
pub(crate) async fn serve(req: HttpRequest, file: web::Path<String>) -> HttpResponse {
    let file = file.into_inner();
    let Some(stem) = file.strip_suffix(".js") else {
        return HttpResponse::NotFound().finish();
    };
    for (name, script) in scripts() {
        let versioned = stem == format!("{name}.{}", script.etag);
        if stem != *name && !versioned {
            continue;
        }
        let etag = format!("\"{}\"", script.etag);
        let cache = if versioned {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=3600, must-revalidate"
        };
        let matches = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
        let mut response = if matches {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        response
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
        return if matches {
            response.finish()
        } else {
            response
                .content_type("application/javascript; charset=utf-8")
                .body(script.body)
        };
    }
    HttpResponse::NotFound().finish()
}
