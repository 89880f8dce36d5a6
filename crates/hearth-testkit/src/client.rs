//! A small in-process browser: cookies, CSRF tokens and redirects made explicit.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

pub struct TestClient {
    router: axum::Router,
    cookies: Mutex<BTreeMap<String, String>>,
    csrf: Mutex<Option<String>>,
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    #[track_caller]
    pub fn assert_status(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "body:\n{}", self.body);
        self
    }

    /// Asserts a 303/302 redirect to `to`.
    #[track_caller]
    pub fn assert_redirect(self, to: &str) -> Self {
        assert!(
            self.status.is_redirection(),
            "expected redirect, got {}:\n{}",
            self.status,
            self.body
        );
        assert_eq!(self.location(), Some(to));
        self
    }

    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn assert_contains(self, needle: &str) -> Self {
        assert!(
            self.body.contains(needle),
            "{needle:?} not in body:\n{}",
            self.body
        );
        self
    }

    #[track_caller]
    pub fn assert_lacks(self, needle: &str) -> Self {
        assert!(
            !self.body.contains(needle),
            "{needle:?} unexpectedly in body:\n{}",
            self.body
        );
        self
    }
}

fn find_csrf(body: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_owned())
}

impl TestClient {
    pub fn new(router: axum::Router) -> Self {
        Self {
            router,
            cookies: Mutex::new(BTreeMap::new()),
            csrf: Mutex::new(None),
        }
    }

    fn cookie_header(&self) -> String {
        let jar = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
        jar.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The CSRF token from the last page this client saw.
    pub fn csrf(&self) -> Option<String> {
        self.csrf.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn clear_cookies(&self) {
        self.cookies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        let mut req = req;
        let cookies = self.cookie_header();
        if !cookies.is_empty()
            && let Ok(v) = cookies.parse()
        {
            req.headers_mut().insert(header::COOKIE, v);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let (parts, body) = resp.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        {
            let mut jar = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
            for v in parts.headers.get_all(header::SET_COOKIE) {
                let Ok(s) = v.to_str() else { continue };
                let pair = s.split(';').next().unwrap_or("");
                if let Some((k, val)) = pair.split_once('=') {
                    let expired = s.to_ascii_lowercase().contains("max-age=0");
                    if expired || val.is_empty() {
                        jar.remove(k.trim());
                    } else {
                        jar.insert(k.trim().to_owned(), val.trim().to_owned());
                    }
                }
            }
        }
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(t) = find_csrf(&body) {
            *self.csrf.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
        }
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        let req = Request::get(path)
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}"));
        self.send(req).await
    }

    /// A GET asking for `accept` (e.g. `application/activity+json`).
    pub async fn get_with(&self, path: &str, accept: &str) -> TestResponse {
        let req = Request::get(path)
            .header("accept", accept)
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}"));
        self.send(req).await
    }

    /// Posts a form, adding the CSRF token from the last page seen unless the form has one.
    pub async fn post_form<V: AsRef<str>>(&self, path: &str, fields: &[(&str, V)]) -> TestResponse {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        let mut has_token = false;
        for (k, v) in fields {
            has_token |= *k == "csrf_token";
            body.append_pair(k, v.as_ref());
        }
        if !has_token && let Some(t) = self.csrf() {
            body.append_pair("csrf_token", &t);
        }
        self.post_raw(path, body.finish()).await
    }

    /// Posts a body exactly as given, with no CSRF token added.
    pub async fn post_raw(&self, path: &str, body: String) -> TestResponse {
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap_or_else(|e| panic!("{e}"));
        self.send(req).await
    }
}
