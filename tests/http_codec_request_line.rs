//! The request line's length limit (414) at its edge, for complete heads
//! (measured from where httparse found the target) and incomplete ones
//! (scanned), with CRLF or bare LF endings and leading empty lines: the
//! two measures must agree byte for byte.

use evloop::http::codec::{Limits, Reject, parse_head};

/// A request line of exactly `len` bytes before its line ending.
fn line_of(len: usize) -> String {
    let fixed = "GET / HTTP/1.1".len();
    format!("GET /{} HTTP/1.1", "a".repeat(len - fixed))
}

fn limits() -> Limits {
    Limits {
        max_request_line: 100,
        ..Limits::default()
    }
}

#[test]
fn a_line_at_the_limit_passes_and_one_byte_more_is_414() {
    for (eol, allowed) in [("\r\n", 99), ("\n", 100)] {
        for lead in ["", "\r\n", "\n\r\n"] {
            let ok = format!("{lead}{}{eol}Host: t{eol}{eol}", line_of(allowed));
            let parsed = parse_head(ok.as_bytes(), &limits());
            assert!(matches!(parsed, Ok(Some(_))), "{ok:?}: {parsed:?}");
            let over = format!("{lead}{}{eol}Host: t{eol}{eol}", line_of(allowed + 1));
            let parsed = parse_head(over.as_bytes(), &limits());
            assert_eq!(parsed.err(), Some(Reject(414)), "{over:?}");
        }
    }
}

#[test]
fn an_unfinished_line_over_the_limit_is_414_and_at_the_limit_waits() {
    let waiting = &line_of(101)[..100];
    assert!(matches!(
        parse_head(waiting.as_bytes(), &limits()),
        Ok(None)
    ));
    let over = line_of(120);
    assert_eq!(
        parse_head(over.as_bytes(), &limits()).err(),
        Some(Reject(414))
    );
}

#[test]
fn a_long_line_beats_other_faults() {
    // A head over the head limit and with a bad header: the line is
    // judged first, as before the line was measured from httparse's view.
    let limits = Limits {
        max_request_line: 100,
        max_head: 150,
        ..Limits::default()
    };
    let head = format!(
        "{}\r\nHost: t\r\nHost: u\r\nX: {}\r\n\r\n",
        line_of(120),
        "b".repeat(60)
    );
    assert_eq!(
        parse_head(head.as_bytes(), &limits).err(),
        Some(Reject(414))
    );
}
