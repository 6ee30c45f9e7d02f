//! `Request`: what a handler is given.
//!
//! The head (method, target, headers) was parsed and copied once into one
//! buffer; the accessors hand out `&str` views of it. The query string and
//! path parameters are percent-decoded on demand, so a handler that never
//! looks at them pays nothing for them.

use std::borrow::Cow;

use super::body::Body;
use super::codec::{Head, Version};

/// An HTTP request: the head, the path parameters the router matched, and
/// the body (not yet read).
#[derive(Debug)]
pub struct Request {
    /// The parsed head.
    head: Head,
    /// `{name}` parameters from the route, decoded.
    params: Vec<(String, String)>,
    /// The body, read on demand.
    body: Body,
}

impl Request {
    pub(super) fn new(head: Head, body: Body) -> Request {
        Request {
            head,
            params: Vec::new(),
            body,
        }
    }

    /// A request built by hand (for testing handlers without a socket).
    /// `target` is the path and query, such as `/hello/ann?greeting=Hi`; a
    /// `host: localhost` header is included.
    ///
    /// ```
    /// use evloop::http::{Request, Response, Router};
    ///
    /// async fn greet(request: Request) -> Response {
    ///     let greeting = request.query_param("greeting").unwrap_or_else(|| "Hello".into());
    ///     Response::text(format!("{greeting}, {}!", request.param("name").unwrap_or("?")))
    /// }
    ///
    /// let app = Router::new().get("/hello/{name}", greet);
    /// let request = Request::builder("GET", "/hello/ann?greeting=Hi").build();
    /// let mut response = evloop::block_on(app.dispatch(request));
    /// assert_eq!(response.status(), 200);
    /// let body = evloop::block_on(response.body_mut().to_bytes(1024)).expect("a full body");
    /// assert_eq!(body, b"Hi, ann!");
    /// ```
    ///
    /// # Panics
    /// If the method, target or a header is not valid HTTP.
    pub fn builder(method: &str, target: &str) -> RequestBuilder {
        RequestBuilder {
            head: format!("{method} {target} HTTP/1.1\r\nhost: localhost\r\n"),
            body: Body::empty(),
        }
    }

    /// The method, such as `GET`.
    pub fn method(&self) -> &str {
        // The usual methods come back as constants, without a UTF-8 check
        // of the bytes: the router asks for the method of every request.
        match &self.head.bytes[self.head.method.clone()] {
            b"GET" => "GET",
            b"POST" => "POST",
            b"HEAD" => "HEAD",
            b"PUT" => "PUT",
            _ => self.head.text(&self.head.method),
        }
    }

    /// The path, as sent (not decoded), such as `/hello/ann`.
    pub fn path(&self) -> &str {
        self.head.text(&self.head.path)
    }

    /// The raw query string after `?`, if any, not decoded.
    pub fn query(&self) -> Option<&str> {
        self.head.query.as_ref().map(|q| self.head.text(q))
    }

    /// The decoded query parameters, in order (`+` is a space, `%41` is `A`).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query().map(decode_query).unwrap_or_default()
    }

    /// The first query parameter named `name`, decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// The path parameter `{name}` of the matched route, decoded.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn set_params(&mut self, params: Vec<(String, String)>) {
        self.params = params;
    }

    /// The headers, in the order received: (name, value).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.head
            .headers()
            .map(|(n, v)| (self.head.text(&n), self.head.text(&v)))
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        // Names are compared as bytes (they are ASCII tokens), and only the
        // value found is checked as UTF-8: `headers()` would check every
        // name and value on the way to it.
        self.head
            .headers()
            .find(|(n, _)| self.head.bytes[n.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| self.head.text(&v))
    }

    /// `"HTTP/1.0"` or `"HTTP/1.1"`.
    pub fn version(&self) -> &'static str {
        match self.head.version {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }

    /// The body, to read in place.
    pub fn body_mut(&mut self) -> &mut Body {
        &mut self.body
    }

    /// The body, taken out of the request.
    pub fn into_body(self) -> Body {
        self.body
    }

    pub(super) fn is_head(&self) -> bool {
        // The bytes, not `method()`: asked once per request, and no text
        // (no UTF-8 check) is needed to compare four ASCII letters.
        self.head.bytes[self.head.method.clone()] == *b"HEAD"
    }
}

/// Builds a [`Request`] by hand; see [`Request::builder`].
#[derive(Debug)]
pub struct RequestBuilder {
    /// The head's text so far.
    head: String,
    /// The body.
    body: Body,
}

impl RequestBuilder {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> RequestBuilder {
        self.head.push_str(name);
        self.head.push_str(": ");
        self.head.push_str(value);
        self.head.push_str("\r\n");
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Body>) -> RequestBuilder {
        self.body = body.into();
        self
    }

    /// The request.
    ///
    /// # Panics
    /// If what was given does not parse as an HTTP/1.1 request head.
    pub fn build(mut self) -> Request {
        self.head.push_str("\r\n");
        let limits = super::codec::Limits::default();
        match super::codec::parse_head(self.head.as_bytes(), &limits) {
            Ok(Some((head, _))) => Request::new(head, self.body),
            other => panic!("not a valid request head: {other:?}"),
        }
    }
}

/// Decodes `a=1&b=x+y` into pairs.
pub fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(name, true).into_owned(),
                percent_decode(value, true).into_owned(),
            )
        })
        .collect()
}

/// Decodes `%XX` escapes (and `+` as a space when `plus` is set). A `%`
/// not followed by two hex digits is kept as it is; bytes that are not
/// UTF-8 become U+FFFD.
pub fn percent_decode(text: &str, plus: bool) -> Cow<'_, str> {
    if !text.bytes().any(|b| b == b'%' || (plus && b == b'+')) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus => out.push(b' '),
            b'%' if i + 2 < bytes.len() && hex_pair(bytes[i + 1], bytes[i + 2]).is_some() => {
                out.push(hex_pair(bytes[i + 1], bytes[i + 2]).expect("checked"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The byte two hex digits spell.
fn hex_pair(high: u8, low: u8) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16);
    Some((digit(high)? * 16 + digit(low)?) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_are_decoded() {
        let pairs = decode_query("a=1&b=x+y&c=%41%42&&d&e=%zz&f=%E2%82%AC&g=%");
        let expect = [
            ("a", "1"),
            ("b", "x y"),
            ("c", "AB"),
            ("d", ""),
            ("e", "%zz"),
            ("f", "€"),
            ("g", "%"),
        ];
        let expect: Vec<(String, String)> = expect
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs, expect);
    }

    #[test]
    fn path_decoding_keeps_plus_and_replaces_bad_utf8() {
        assert_eq!(percent_decode("a+b%20c", false), "a+b c");
        assert_eq!(percent_decode("%FF", false), "\u{fffd}");
        assert!(matches!(
            percent_decode("plain", true),
            Cow::Borrowed("plain")
        ));
    }

    #[test]
    fn built_requests_expose_the_head() {
        let request = Request::builder("POST", "/p?q=1")
            .header("X-A", "b")
            .body("hi")
            .build();
        assert_eq!(request.method(), "POST");
        assert_eq!(request.path(), "/p");
        assert_eq!(request.query(), Some("q=1"));
        assert_eq!(request.header("x-a"), Some("b"));
        assert_eq!(request.version(), "HTTP/1.1");
        assert_eq!(request.headers().count(), 2, "host and X-A");
    }

    #[test]
    fn to_bytes_enforces_its_limit() {
        let mut body = Body::from("0123456789");
        let err = crate::block_on(body.to_bytes(9)).expect_err("over the limit");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        let mut body = Body::from("0123456789");
        assert_eq!(
            crate::block_on(body.to_bytes(10)).expect("at the limit"),
            b"0123456789"
        );
    }
}
