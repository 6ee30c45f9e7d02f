//! The router: a path pattern and a method pick the handler.
//!
//! A pattern is a list of segments: literal (`/hello`), a parameter
//! (`{name}`, one segment, percent-decoded into [`Request::param`]) or a
//! catch-all at the end (`{*rest}`, the rest of the path, possibly empty
//! segments included). Routes are tried in the order they were added; the
//! first whose pattern matches decides. If that route has no handler for
//! the method, the answer is 405 with an `Allow` header naming the methods
//! it has (`HEAD` is served by a `GET` handler with the body left out).
//! No route at all is 404.
//!
//! Handlers are `async fn(Request) -> Response`. Their futures need not be
//! `Send`: a connection is one task on one loop.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use super::request::{Request, percent_decode};
use super::response::Response;

/// A boxed handler future.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response>>>;

/// Something that answers a request: implemented for every
/// `Fn(Request) -> impl Future<Output = Response>`, so an `async fn` works.
pub trait Handler: 'static {
    /// Starts answering `request`.
    fn call(&self, request: Request) -> HandlerFuture;
}

impl<F, Fut> Handler for F
where
    F: Fn(Request) -> Fut + 'static,
    Fut: Future<Output = Response> + 'static,
{
    fn call(&self, request: Request) -> HandlerFuture {
        Box::pin(self(request))
    }
}

/// Handlers for one path, by method.
#[derive(Clone, Default)]
pub struct MethodRouter {
    /// (method, handler), in the order added.
    methods: Vec<(&'static str, Rc<dyn Handler>)>,
    /// The handler for any other method.
    any: Option<Rc<dyn Handler>>,
}

/// A [`MethodRouter`] answering every method with `handler`.
pub fn any(handler: impl Handler) -> MethodRouter {
    MethodRouter {
        methods: Vec::new(),
        any: Some(Rc::new(handler)),
    }
}

/// A [`MethodRouter`] answering `GET` (and `HEAD`) with `handler`.
pub fn get(handler: impl Handler) -> MethodRouter {
    MethodRouter::default().get(handler)
}

/// A [`MethodRouter`] answering `POST` with `handler`.
pub fn post(handler: impl Handler) -> MethodRouter {
    MethodRouter::default().post(handler)
}

macro_rules! method_fns {
    ($($fn:ident $method:literal),*) => {$(
        #[doc = concat!("Answers `", $method, "` with `handler`.")]
        pub fn $fn(self, handler: impl Handler) -> MethodRouter {
            self.on($method, handler)
        }
    )*};
}

impl MethodRouter {
    method_fns!(get "GET", post "POST", put "PUT", delete "DELETE", patch "PATCH", options "OPTIONS");

    /// Answers `method` (an uppercase token) with `handler`.
    pub fn on(mut self, method: &'static str, handler: impl Handler) -> MethodRouter {
        self.methods.push((method, Rc::new(handler)));
        self
    }

    /// The handler for `method`, if any.
    fn find(&self, method: &str) -> Option<&Rc<dyn Handler>> {
        let exact = self.methods.iter().find(|(m, _)| *m == method);
        let head_as_get = || {
            (method == "HEAD")
                .then(|| self.methods.iter().find(|(m, _)| *m == "GET"))
                .flatten()
        };
        exact
            .or_else(head_as_get)
            .map(|(_, h)| h)
            .or(self.any.as_ref())
    }

    /// The `Allow` header's value.
    fn allow(&self) -> String {
        let mut names: Vec<&str> = self.methods.iter().map(|(m, _)| *m).collect();
        if names.contains(&"GET") && !names.contains(&"HEAD") {
            names.push("HEAD");
        }
        names.join(", ")
    }
}

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Must equal this text.
    Literal(String),
    /// Any one segment, bound to this name.
    Param(String),
    /// The rest of the path, bound to this name.
    Rest(String),
}

/// A pattern and its handlers.
#[derive(Clone)]
struct Route {
    /// The pattern's segments (after the leading `/`).
    segments: Vec<Segment>,
    /// The handlers.
    methods: MethodRouter,
}

/// Maps paths and methods to handlers.
///
/// ```
/// use evloop::http::{Request, Response, Router, any};
///
/// async fn hello(request: Request) -> Response {
///     let name = request.param("name").unwrap_or("world");
///     Response::text(format!("Hello, {name}!"))
/// }
///
/// let app = Router::new()
///     .get("/hello/{name}", hello)
///     .route("/anything/{*rest}", any(|_req: Request| async { Response::new(204) }));
/// ```
#[derive(Clone, Default)]
pub struct Router {
    /// The routes, in the order added.
    routes: Vec<Route>,
}

impl Router {
    /// A router with no routes (everything is 404).
    pub fn new() -> Router {
        Router::default()
    }

    /// Adds `methods` for `pattern`. Methods added for a pattern already
    /// present join its existing route.
    ///
    /// # Panics
    /// If `pattern` does not start with `/`, or a `{*rest}` is not last.
    pub fn route(mut self, pattern: &str, methods: MethodRouter) -> Router {
        let segments = parse_pattern(pattern);
        if let Some(route) = self.routes.iter_mut().find(|r| r.segments == segments) {
            route.methods.methods.extend(methods.methods);
            route.methods.any = methods.any.or(route.methods.any.take());
        } else {
            self.routes.push(Route { segments, methods });
        }
        self
    }

    /// Adds a `GET` (and `HEAD`) handler for `pattern`.
    pub fn get(self, pattern: &str, handler: impl Handler) -> Router {
        self.route(pattern, get(handler))
    }

    /// Adds a `POST` handler for `pattern`.
    pub fn post(self, pattern: &str, handler: impl Handler) -> Router {
        self.route(pattern, post(handler))
    }

    /// Adds a `PUT` handler for `pattern`.
    pub fn put(self, pattern: &str, handler: impl Handler) -> Router {
        self.route(pattern, MethodRouter::default().put(handler))
    }

    /// Adds a `DELETE` handler for `pattern`.
    pub fn delete(self, pattern: &str, handler: impl Handler) -> Router {
        self.route(pattern, MethodRouter::default().delete(handler))
    }

    /// Answers `request`: the matching handler, 405 or 404.
    pub fn dispatch(&self, mut request: Request) -> HandlerFuture {
        // Method and path are taken once, not once per route tried: each
        // take checks the bytes as UTF-8 again.
        let (method, path) = (request.method(), request.path());
        let mut allow = None;
        let mut found = None;
        for route in &self.routes {
            let Some(params) = match_path(&route.segments, path) else {
                continue;
            };
            match route.methods.find(method) {
                Some(handler) => {
                    found = Some((handler, params));
                    break;
                }
                None => {
                    allow.get_or_insert_with(|| route.methods.allow());
                }
            }
        }
        if let Some((handler, params)) = found {
            if !params.is_empty() {
                request.set_params(params);
            }
            return handler.call(request);
        }
        let response = match allow {
            Some(allow) => Response::error(405).header("allow", allow),
            None => Response::error(404),
        };
        Box::pin(std::future::ready(response))
    }
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let patterns: Vec<_> = self.routes.iter().map(|r| &r.segments).collect();
        f.debug_struct("Router").field("routes", &patterns).finish()
    }
}

impl std::fmt::Debug for MethodRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodRouter")
            .field("allow", &self.allow())
            .finish()
    }
}

/// Splits `/hello/{name}` into segments.
fn parse_pattern(pattern: &str) -> Vec<Segment> {
    let rest = pattern
        .strip_prefix('/')
        .unwrap_or_else(|| panic!("route pattern {pattern:?} must start with '/'"));
    if rest.is_empty() {
        return Vec::new();
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let last = parts.len() - 1;
    parts
        .iter()
        .enumerate()
        .map(
            |(i, part)| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) if name.starts_with('*') => {
                    assert!(i == last, "{{*rest}} must end the pattern {pattern:?}");
                    Segment::Rest(name[1..].to_string())
                }
                Some(name) => Segment::Param(name.to_string()),
                None => Segment::Literal(part.to_string()),
            },
        )
        .collect()
}

/// The parameters if `path` matches `segments`.
fn match_path(segments: &[Segment], path: &str) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut rest = path.strip_prefix('/')?;
    if segments.is_empty() {
        return rest.is_empty().then_some(params);
    }
    for (i, segment) in segments.iter().enumerate() {
        if let Segment::Rest(name) = segment {
            params.push((name.clone(), percent_decode(rest, false).into_owned()));
            return Some(params);
        }
        let (part, after) = match rest.split_once('/') {
            Some((part, after)) => (part, Some(after)),
            None => (rest, None),
        };
        match segment {
            Segment::Literal(text) if text == part => {}
            Segment::Param(name) if !part.is_empty() => {
                params.push((name.clone(), percent_decode(part, false).into_owned()));
            }
            _ => return None,
        }
        match after {
            Some(after) => rest = after,
            None if i == segments.len() - 1 => return Some(params),
            None => {
                // The path ended; only a catch-all may still match.
                return match segments.get(i + 1) {
                    Some(Segment::Rest(name)) if i + 2 == segments.len() => {
                        params.push((name.clone(), String::new()));
                        Some(params)
                    }
                    _ => None,
                };
            }
        }
    }
    // Segments are used up but the path goes on.
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
        match_path(&parse_pattern(pattern), path)
    }

    #[test]
    fn literal_param_and_rest() {
        assert_eq!(matches("/", "/"), Some(vec![]));
        assert_eq!(matches("/", "/x"), None);
        assert_eq!(matches("/echo", "/echo"), Some(vec![]));
        assert_eq!(matches("/echo", "/echo/"), None);
        let ann = vec![("name".to_string(), "a b".to_string())];
        assert_eq!(matches("/hello/{name}", "/hello/a%20b"), Some(ann));
        assert_eq!(matches("/hello/{name}", "/hello/"), None);
        assert_eq!(matches("/hello/{name}", "/hello/a/b"), None);
        let rest = vec![("rest".to_string(), "a/b".to_string())];
        assert_eq!(matches("/anything/{*rest}", "/anything/a/b"), Some(rest));
        let empty = vec![("rest".to_string(), String::new())];
        assert_eq!(
            matches("/anything/{*rest}", "/anything/"),
            Some(empty.clone())
        );
        assert_eq!(matches("/anything/{*rest}", "/anything"), Some(empty));
    }
}
